// Foreign client test (issue 4): a stock JavaScript automerge-repo 2.5 client, unchanged, syncs
// with the server's WebSocket gateway (`GET /sync`, automerge-repo protocol v1).
//
// Env: SERVER_URL (http://127.0.0.1:PORT), YP_EMAIL, YP_PASSWORD, ADVISER_EMAIL, ADVISER_PASSWORD,
//      OTHER_DOCUMENT_ID (another young person's plan, which this young person must never get).
// Optional: FRAME_LOG=1 prints every frame as it goes; STEP_TIMEOUT_MS (default 5000).
//
// Every frame the stock adapter sends and receives is recorded (by wrapping the adapter, without
// changing what it does) and printed when a step fails, as evidence.

import { randomUUID } from "node:crypto";
import { Repo, cbor, documentIdToBinary } from "@automerge/automerge-repo";
import { WebSocketClientAdapter } from "@automerge/automerge-repo-network-websocket";
import WebSocket from "ws";

const env = (name) => {
  const v = process.env[name];
  if (!v) fail(`environment variable ${name} is missing`);
  return v;
};

const T0 = Date.now();
const elapsed = () => `${((Date.now() - T0) / 1000).toFixed(2)}s`;
const log = (...a) => console.log(`[${elapsed()}]`, ...a);

// ---- frame recording -----------------------------------------------------------------------------

const frames = [];
const FRAME_LOG = process.env.FRAME_LOG === "1";

function describeFrame(m) {
  if (!m || typeof m !== "object") return JSON.stringify(m);
  const out = {};
  for (const [k, v] of Object.entries(m)) {
    if (v instanceof Uint8Array || ArrayBuffer.isView(v)) {
      const bytes = new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
      const head = Buffer.from(bytes.subarray(0, 24)).toString("hex");
      out[k] = `<${bytes.byteLength} bytes ${head}${bytes.byteLength > 24 ? "…" : ""}>`;
    } else if (v === undefined) {
      out[k] = "<undefined>";
    } else {
      out[k] = v;
    }
  }
  return JSON.stringify(out);
}

function record(direction, message) {
  const line = `${elapsed()} ${direction} ${describeFrame(message)}`;
  frames.push({ direction, message, line });
  if (FRAME_LOG) console.log("   frame", line);
}

class RecordingAdapter extends WebSocketClientAdapter {
  send(message) {
    record("->", message);
    return super.send(message);
  }
  receiveMessage(bytes) {
    let decoded;
    try {
      decoded = cbor.decode(new Uint8Array(bytes));
    } catch (e) {
      decoded = { undecodable: Buffer.from(new Uint8Array(bytes)).toString("hex"), error: String(e) };
    }
    record("<-", decoded);
    return super.receiveMessage(bytes);
  }
}

function dumpFrames() {
  console.error(`--- ${frames.length} frames (-> sent by the stock client, <- received from the server) ---`);
  for (const f of frames.slice(-80)) console.error("  " + f.line);
}

let cleanup = async () => {};
let failed = false;

/** Thrown by `fail` to stop the current step; the process exits 1 once cleanup is done. */
class Failed extends Error {}

function fail(message, err) {
  if (!failed) {
    failed = true;
    console.error(`\nFAIL [${elapsed()}]: ${message}`);
    if (err && !(err instanceof Failed)) console.error(err?.stack ?? err);
    dumpFrames();
    // Best effort: do not let a hung socket keep the process alive.
    Promise.race([cleanup(), new Promise((r) => setTimeout(r, 500))]).finally(() => process.exit(1));
  }
  throw new Failed(message);
}

function failFromHandler(what, e) {
  if (e instanceof Failed) return;
  const upgrade = /Unexpected server response: (\d+)/.exec(String(e?.message));
  try {
    if (upgrade) fail(`the WebSocket upgrade of /sync was refused with HTTP ${upgrade[1]}`, e);
    fail(what, e);
  } catch {
    /* reported */
  }
}
process.on("unhandledRejection", (e) => failFromHandler("unhandled rejection", e));
process.on("uncaughtException", (e) => failFromHandler("uncaught exception", e));

// ---- helpers -------------------------------------------------------------------------------------

const SERVER_URL = env("SERVER_URL").replace(/\/$/, "");
const STEP_TIMEOUT_MS = Number(process.env.STEP_TIMEOUT_MS ?? 5000);

async function api(method, path, { token, body } = {}) {
  const headers = { accept: "application/json" };
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(SERVER_URL + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  let json;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = text;
  }
  if (!res.ok) fail(`${method} ${path} answered ${res.status}: ${text.slice(0, 500)}`);
  return json;
}

async function login(email, password) {
  const pair = await api("POST", "/api/v1/auth/login", { body: { email, password } });
  if (!pair?.access_token) fail(`login of ${email} returned no access_token: ${JSON.stringify(pair)}`);
  return pair.access_token;
}

/** Polls `check` (which returns a truthy value when done) every 50 ms up to `ms`. */
async function waitFor(what, check, ms = STEP_TIMEOUT_MS) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) fail(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
    }),
  ]);
}

const str = (v) => (v === undefined || v === null ? v : String(v)); // text objects and ImmutableString alike
const nowIso = () => new Date().toISOString(); // RFC 3339, UTC, milliseconds, "Z"

// ---- the test ------------------------------------------------------------------------------------

async function main() {
  const ypEmail = env("YP_EMAIL");
  const adviserEmail = env("ADVISER_EMAIL");
  const otherDocumentId = env("OTHER_DOCUMENT_ID");

  // 1. REST logins.
  log(`1. logging in over REST at ${SERVER_URL}`);
  const ypToken = await login(ypEmail, env("YP_PASSWORD"));
  const me = await api("GET", "/api/v1/me", { token: ypToken });
  if (!me?.plan_document_id) fail(`GET /api/v1/me gave no plan_document_id: ${JSON.stringify(me)}`);
  const ypId = me.id;
  const adviserToken = await login(adviserEmail, env("ADVISER_PASSWORD"));
  log(`   young person ${ypEmail} (${ypId}), plan ${me.plan_document_id}; adviser ${adviserEmail} logged in`);
  if (otherDocumentId === me.plan_document_id) fail("OTHER_DOCUMENT_ID is the young person's own plan");

  // 2. A stock Repo on ws://HOST/sync?token=…
  const wsUrl = `${SERVER_URL.replace(/^http/, "ws")}/sync?token=${encodeURIComponent(ypToken)}`;
  log(`2. connecting a stock Repo (WebSocketClientAdapter) to ${wsUrl.replace(/token=.*/, "token=…")}`);
  const adapter = new RecordingAdapter(wsUrl);
  const repo = new Repo({ network: [adapter] }); // no storage: everything comes from the server
  cleanup = async () => {
    try {
      await repo.shutdown();
    } catch {
      /* already down */
    }
  };
  const peer = await withTimeout(
    new Promise((resolve) => repo.networkSubsystem.once("peer", resolve)),
    STEP_TIMEOUT_MS,
    "the server's `peer` answer to `join`",
  ).catch((e) => fail(e.message));
  log(`   handshake done: server peer ${peer.peerId}`);

  const url = `automerge:${me.plan_document_id}`;
  const handle = await withTimeout(repo.find(url), STEP_TIMEOUT_MS, `repo.find(${url})`).catch((e) =>
    fail(`repo.find of the young person's own plan failed: ${e.message}`, e),
  );
  const doc0 = handle.doc();
  if (!doc0 || typeof doc0.actions !== "object") fail(`the plan has no actions map: ${JSON.stringify(doc0)?.slice(0, 500)}`);
  if (str(doc0.young_person_id) !== ypId) fail(`plan.young_person_id is ${str(doc0.young_person_id)}, expected ${ypId}`);
  log(`   plan ready: schema ${doc0.schema}, ${Object.keys(doc0.actions).length} actions, ${Object.keys(doc0.appointments ?? {}).length} appointments`);

  const notices = [];
  handle.on("ephemeral-message", ({ senderId, message }) => {
    notices.push(message);
    log(`   ephemeral message from ${senderId}: ${JSON.stringify(message)}`);
  });

  // 3. The young person creates an action through the stock API; the adviser sees it over REST.
  const actionId = randomUUID();
  const title = `Relancer la boulangerie Dupain (${actionId.slice(0, 8)})`;
  log(`3. creating action ${actionId} with handle.change`);
  const at = nowIso();
  handle.change((d) => {
    d.actions[actionId] = {
      id: actionId,
      title,
      category: "EMPLOI",
      status: "not_started",
      created_by: { id: ypId, role: "young_person" },
      created_at: at,
      updated_at: at,
      reminder: true,
      comments: {},
    };
  });
  const t3 = Date.now();
  const planPath = `/api/v1/young-people/${ypId}/plan`;
  const seen = await waitFor("the adviser to see the new action over REST", async () => {
    const plan = await api("GET", planPath, { token: adviserToken });
    return (plan.actions ?? []).find((a) => a.id === actionId);
  });
  if (seen.title !== title) fail(`the adviser sees title ${JSON.stringify(seen.title)}, expected ${JSON.stringify(title)}`);
  if (seen.created_by?.id !== ypId || seen.created_by?.role !== "young_person" || seen.reminder !== true) {
    fail(`the adviser sees the action with unexpected fields: ${JSON.stringify(seen)}`);
  }
  if (!handle.doc().actions[actionId]) fail("the server undid the young person's own action creation");
  log(`   the adviser sees it over REST after ${Date.now() - t3} ms (status ${seen.status}, category ${seen.category})`);

  // 4. The adviser renames it over REST; the new title arrives live in the handle.
  const newTitle = `Relancer la boulangerie Dupain — appeler avant 10 h (${actionId.slice(0, 8)})`;
  log("4. the adviser renames the action over REST");
  let changeEvents = 0;
  const onChange = () => changeEvents++;
  handle.on("change", onChange);
  const t4 = Date.now();
  await api("PATCH", `/api/v1/young-people/${ypId}/actions/${actionId}`, { token: adviserToken, body: { title: newTitle } });
  await waitFor("the adviser's new title to arrive in the handle", () => str(handle.doc().actions[actionId]?.title) === newTitle);
  handle.off("change", onChange);
  log(`   arrived live after ${Date.now() - t4} ms (${changeEvents} change event(s))`);

  // 5. A refused edit: a young person may not qualify an action. The server compensates.
  log("5. the young person writes a qualification (refused by the rules)");
  const noticesBefore = notices.length;
  const storedNotices = () => Object.values(handle.doc().notices ?? {}).filter((n) => str(n.for_user) === ypId);
  const storedBefore = storedNotices().length;
  const t5 = Date.now();
  handle.change((d) => {
    d.actions[actionId].qualification = {
      code: "EMPLOI",
      hours: 3,
      by: { id: ypId, role: "young_person" },
      at: nowIso(),
    };
  });
  if (!handle.doc().actions[actionId].qualification) fail("the local change did not even apply");
  await waitFor(
    "the server's compensating change removing the qualification",
    () => handle.doc().actions[actionId] && handle.doc().actions[actionId].qualification === undefined,
  );
  log(`   qualification undone by the server after ${Date.now() - t5} ms`);
  if (str(handle.doc().actions[actionId].title) !== newTitle) fail("the compensation touched the title");
  // The author is told why: an ephemeral notice on the session and a notice stored in the plan.
  const notice = await waitFor("the ephemeral notice {type: \"notice\", reasons}", () =>
    notices.slice(noticesBefore).find((n) => n?.type === "notice" && Array.isArray(n.reasons) && n.reasons.length > 0),
  );
  log(`   ephemeral notice: ${JSON.stringify(notice.reasons)}`);
  const stored = await waitFor("a new notice for the young person stored in the plan", () => {
    const all = storedNotices();
    return all.length > storedBefore && all;
  });
  log(`   stored notices for the young person in the plan: ${storedBefore} -> ${stored.length}`);
  const planAfter = await api("GET", planPath, { token: adviserToken });
  const restAction = planAfter.actions.find((a) => a.id === actionId);
  if (restAction?.qualification) fail(`REST still shows a qualification: ${JSON.stringify(restAction.qualification)}`);

  // 5b. One batch with an allowed and a refused edit (issue 15): offline, the young person sets the
  // action in progress, then writes a qualification. Both changes go up in one sync message; the
  // server undoes the qualification only, and the notice names only it.
  log("5b. one batch: status in_progress (allowed), then a qualification (refused)");
  const noticesBefore5b = notices.length;
  const t5b = Date.now();
  handle.change((d) => {
    d.actions[actionId].status = "in_progress";
    d.actions[actionId].updated_at = nowIso();
  });
  handle.change((d) => {
    d.actions[actionId].qualification = { code: "EMPLOI", hours: 3, by: { id: ypId, role: "young_person" }, at: nowIso() };
  });
  await waitFor(
    "the compensation of the second qualification",
    () => handle.doc().actions[actionId] && handle.doc().actions[actionId].qualification === undefined,
  );
  const notice5b = await waitFor("the ephemeral notice of the batch", () =>
    notices.slice(noticesBefore5b).find((n) => n?.type === "notice" && Array.isArray(n.reasons) && n.reasons.length > 0),
  );
  if (str(handle.doc().actions[actionId].status) !== "in_progress") {
    fail(`the allowed status change was undone: status is ${str(handle.doc().actions[actionId].status)}`);
  }
  if (notice5b.reasons.length !== 1 || !/qualification/.test(notice5b.reasons[0])) {
    fail(`the notice should name only the qualification: ${JSON.stringify(notice5b.reasons)}`);
  }
  const rest5b = (await api("GET", planPath, { token: adviserToken })).actions.find((a) => a.id === actionId);
  if (rest5b?.status !== "in_progress" || rest5b?.qualification) {
    fail(`REST shows status ${rest5b?.status} and qualification ${JSON.stringify(rest5b?.qualification)}`);
  }
  log(`   status kept, qualification undone after ${Date.now() - t5b} ms; notice ${JSON.stringify(notice5b.reasons)}`);

  // 6. Another young person's plan: never any content.
  log(`6. repo.find of another young person's plan ${otherDocumentId}`);
  const framesBefore = frames.length;
  const t6 = Date.now();
  let otherHandle;
  const outcome = await withTimeout(
    repo.find(`automerge:${otherDocumentId}`).then(
      (h) => {
        otherHandle = h;
        return "ready";
      },
      (e) => `rejected: ${e.message}`,
    ),
    STEP_TIMEOUT_MS * 2,
    "repo.find of the other plan",
  ).catch((e) => `timeout: ${e.message}`);
  if (outcome === "ready") {
    fail(`the other young person's plan was delivered: ${JSON.stringify(otherHandle.doc())?.slice(0, 300)}`);
  }
  const later = frames.slice(framesBefore);
  // The protocol allows a document id as text (bs58check) or as its 16 raw bytes.
  const otherHex = Buffer.from(documentIdToBinary(otherDocumentId)).toString("hex");
  const isOther = (m) =>
    m?.documentId === otherDocumentId ||
    (m?.documentId instanceof Uint8Array && Buffer.from(m.documentId).toString("hex") === otherHex);
  const unavailable = later.find((f) => f.direction === "<-" && f.message?.type === "doc-unavailable" && isOther(f.message));
  const leaked = later.find((f) => f.direction === "<-" && ["sync", "request"].includes(f.message?.type) && isOther(f.message));
  if (leaked) fail(`the server sent a ${leaked.message.type} frame for the other plan: ${leaked.line}`);
  if (!outcome.startsWith("rejected")) fail(`repo.find of the other plan neither delivered nor rejected (${outcome})`);
  if (!unavailable) fail("repo.find rejected, but no doc-unavailable frame came from the server (did the socket drop?)");
  log(`   ${outcome} after ${Date.now() - t6} ms; the server answered doc-unavailable`);

  // The young person's own plan is still live on the same session.
  if (adapter.socket?.readyState !== 1) fail("the socket closed during the test");

  // 7. No session without a valid token.
  log("7. a WebSocket upgrade with a bogus token");
  const refused = await withTimeout(
    new Promise((resolve) => {
      const ws = new WebSocket(`${wsUrl.replace(/token=.*/, "token=not-a-token")}`);
      ws.on("unexpected-response", (_req, res) => resolve(res.statusCode));
      ws.on("open", () => {
        ws.close();
        resolve("open");
      });
      ws.on("error", () => {});
    }),
    STEP_TIMEOUT_MS,
    "the answer to an upgrade with a bogus token",
  ).catch((e) => fail(e.message));
  if (refused !== 401) fail(`an upgrade with a bogus token was answered ${refused}, expected HTTP 401`);
  log("   refused with HTTP 401");

  await cleanup();
  log(`PASS: stock automerge-repo 2.5 client against ${SERVER_URL} (${frames.length} frames)`);
  process.exit(0);
}

main().catch((e) => failFromHandler(e?.message ?? String(e), e));
