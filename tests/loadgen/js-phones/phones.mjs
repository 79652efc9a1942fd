// The phones of `sync-loadgen --phone-client js`: one stock automerge-repo 2.5 Repo per phone, each
// with its own WebSocketClientAdapter (no storage), all in this process. The load generator (Rust)
// gives a JSON file (argv[2]: cycles, edits, thinkMs, cycleTimeoutMs, connectConcurrency, phones:
// [{url, documentId, youngPersonId, initial (hex of the saved plan)}]), says each phase on stdin
// (`sync`, `observe`, `go`, `stop`) and reads one line per event on stdout:
//   joined i | synced i <actor hex> | sent i <hash> <epoch ms> <changes> <bytes> | cycle i <ms>
//   | bytes i <up> <down> <frames> (during the cycles) | done i | notice i | fail <why>
// The edits are those of the Rust phones (sync-core's `offline_edits`), written with Automerge's
// `change` in sync-core's schema: scalar strings (ImmutableString, as sync-core's Node::Str), dates
// `YYYY-MM-DD`, instants RFC 3339 UTC with milliseconds, `created_by: {id, role}`, `comments: {}`.
// A cycle is done when the server's heads (read from its sync messages) cover the phone's heads.

import { readFileSync } from "node:fs";
import { randomUUID } from "node:crypto";
import { createInterface } from "node:readline";
import * as A from "@automerge/automerge";
import { Repo, cbor } from "@automerge/automerge-repo";
import { WebSocketClientAdapter } from "@automerge/automerge-repo-network-websocket";

const config = JSON.parse(readFileSync(process.argv[2], "utf8"));
const out = (line) => process.stdout.write(line + "\n"); // a pipe: synchronous on Linux
const now = () => performance.timeOrigin + performance.now();
const S = (v) => new A.ImmutableString(v);
const day = (offset) => new Date(Date.now() + offset * 86400e3).toISOString().slice(0, 10);
let stopping = false;

function fail(why) {
  if (stopping) return;
  out(`fail ${String(why).replace(/\s+/g, " ")}`);
}
process.on("unhandledRejection", (e) => fail(`unhandled rejection: ${e?.stack ?? e}`));
process.on("uncaughtException", (e) => fail(`uncaught exception: ${e?.stack ?? e}`));

/** The stock adapter, counting bytes and frames (what it sends and receives is unchanged). */
class CountingAdapter extends WebSocketClientAdapter {
  up = 0;
  down = 0;
  frames = 0;
  connect(peerId, peerMetadata) {
    super.connect(peerId, peerMetadata);
    const socket = this.socket;
    if (socket && !socket.__counted) {
      socket.__counted = true;
      const send = socket.send.bind(socket);
      socket.send = (data) => {
        this.up += data.byteLength;
        this.frames++;
        return send(data);
      };
    }
  }
  receiveMessage(bytes) {
    this.down += bytes.byteLength;
    this.frames++;
    try {
      const m = cbor.decode(new Uint8Array(bytes));
      if (m?.type === "error") fail(`phone ${this.index}: error frame from the server: ${m.message}`);
      if (m?.type === "doc-unavailable") fail(`phone ${this.index}: doc-unavailable for ${m.documentId}`);
    } catch {
      /* the adapter itself will complain */
    }
    return super.receiveMessage(bytes);
  }
}

class Phone {
  constructor(index, spec) {
    this.index = index;
    this.spec = spec;
    this.serverHeads = new Set();
    this.waiters = [];
    this.editNo = 0;
    this.actionId = null;
  }

  async join() {
    this.adapter = new CountingAdapter(this.spec.url);
    this.adapter.index = this.index;
    const peerId = `phone-js-${this.index}-${randomUUID().replaceAll("-", "")}`;
    this.repo = new Repo({ network: [this.adapter], peerId });
    this.repo.networkSubsystem.on("message", (m) => {
      if ((m.type === "sync" || m.type === "request") && m.documentId === this.spec.documentId && m.data) {
        try {
          for (const h of A.decodeSyncMessage(m.data).heads) this.serverHeads.add(h);
        } catch (e) {
          fail(`phone ${this.index}: undecodable sync message: ${e}`);
        }
        this.recheck();
      }
    });
    await new Promise((resolve) => this.repo.networkSubsystem.once("peer", resolve));
    out(`joined ${this.index}`);
  }

  recheck() {
    this.waiters = this.waiters.filter((w) => !w());
  }

  /** Resolves once `check` holds after a message from the server (or at once). */
  until(check, what) {
    if (check()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`phone ${this.index}: ${what} not within ${config.cycleTimeoutMs} ms`)), config.cycleTimeoutMs);
      this.waiters.push(() => {
        if (!check()) return false;
        clearTimeout(timer);
        resolve();
        return true;
      });
    });
  }

  serverHasAll() {
    return A.getHeads(this.handle.doc()).every((h) => this.serverHeads.has(h));
  }

  async sync() {
    this.handle = this.repo.import(Buffer.from(this.spec.initial, "hex"), { docId: this.spec.documentId });
    if (!this.handle.isReady()) this.handle.doneLoading();
    this.handle.on("ephemeral-message", () => out(`notice ${this.index}`));
    // The repo applies a server message after our listener saw it: check again then.
    this.handle.on("heads-changed", () => this.recheck());
    await this.until(() => this.serverHasAll(), "first sync");
    out(`synced ${this.index} ${A.getActorId(this.handle.doc())}`);
  }

  /** `edits` offline edits as sync-core's `offline_edits`: create an action, then edit its title,
   * description, due date in turn. Returns [last change hash, changes, bytes]. */
  edit() {
    let hash = null;
    let bytes = 0;
    for (let k = 0; k < config.edits; k++) {
      const n = ++this.editNo;
      const at = new Date().toISOString();
      const yp = this.spec.youngPersonId;
      this.handle.change((d) => {
        if (!this.actionId) {
          const id = randomUUID();
          this.actionId = id;
          d.actions[id] = {
            id: S(id),
            title: S("Postuler chez Décathlon Part-Dieu"),
            description: S("Envoyer le CV et la lettre de motivation"),
            category: S("EMPLOI"),
            status: S("not_started"),
            due_date: S(day(7)),
            created_by: { id: S(yp), role: S("young_person") },
            created_at: S(at),
            updated_at: S(at),
            reminder: true,
            comments: {},
          };
          return;
        }
        const a = d.actions[this.actionId];
        if (n % 3 === 0) a.title = S(`Postuler chez Décathlon Part-Dieu (${n})`);
        else if (n % 3 === 1) a.description = S(`Relancer le magasin, essai n° ${n}`);
        else a.due_date = S(day(7 + (n % 20)));
        a.updated_at = S(at);
      });
      const change = A.getLastLocalChange(this.handle.doc());
      if (change) {
        bytes += change.byteLength;
        hash = A.decodeChange(change).hash;
      }
    }
    return [hash, config.edits, bytes];
  }

  async cycles() {
    const think = config.thinkMs;
    const a = this.adapter;
    const base = [a.up, a.down, a.frames];
    for (let c = 0; c < config.cycles; c++) {
      if (think > 0) {
        const wait = c === 0 ? think * Math.random() : think * (0.5 + Math.random());
        await new Promise((r) => setTimeout(r, wait));
      }
      const t0 = now();
      const [hash, changes, bytes] = this.edit();
      out(`sent ${this.index} ${hash} ${t0.toFixed(3)} ${changes} ${bytes}`);
      // Every local head (the cycle's last change, or a compensation on top of it) is the server's.
      await this.until(() => this.serverHasAll(), `cycle ${c}`);
      out(`cycle ${this.index} ${(now() - t0).toFixed(3)}`);
    }
    out(`bytes ${this.index} ${a.up - base[0]} ${a.down - base[1]} ${a.frames - base[2]}`);
    out(`done ${this.index}`);
  }
}

/** Runs `f` on every phone, at most `limit` at once. */
async function each(phones, limit, f) {
  let next = 0;
  const worker = async () => {
    while (next < phones.length) await f(phones[next++]);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, phones.length)) }, worker));
}

const phones = config.phones.map((spec, i) => new Phone(i, spec));
const phase = { sync: null, go: null, stop: null };
const reached = (word) => new Promise((resolve) => (phase[word] = resolve));
const phases = { sync: reached("sync"), go: reached("go"), stop: reached("stop") };
createInterface({ input: process.stdin }).on("line", (line) => {
  phase[line.trim()]?.();
});
process.stdin.on("end", () => phase.stop());

async function main() {
  await each(phones, config.connectConcurrency, (p) => p.join());
  await phases.sync;
  await each(phones, config.connectConcurrency, (p) => p.sync());
  await phases.go;
  await Promise.all(phones.map((p) => p.cycles()));
}

main().catch((e) => fail(e?.stack ?? e));
await phases.stop;
stopping = true;
await Promise.race([Promise.all(phones.map((p) => p.repo?.shutdown().catch(() => {}))), new Promise((r) => setTimeout(r, 2000))]);
process.exit(0);
