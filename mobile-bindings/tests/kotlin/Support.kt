// What the Kotlin tests of the generated bindings share: the running server (started by
// mobile-bindings/tests/run), an adviser over REST, fresh young people with their phones
// (OfflineClient in temporary folders), a small JSON codec for the REST calls, and the runner's
// `Suite` (Main.kt runs every `object … : Suite` compiled beside it).
//
// Env (set by the run script): SERVER_URL, DEMO_PASSWORD, ADVISER_EMAIL; TMPDIR for the phones' folders.
package fr.passemploi.sync.tests

import fr.passemploi.sync.ClientConfig
import fr.passemploi.sync.MobileException
import fr.passemploi.sync.OfflineClient
import fr.passemploi.sync.OfflineClientInterface
import fr.passemploi.sync.ServerApi
import fr.passemploi.sync.Session
import fr.passemploi.sync.TokenSource
import fr.passemploi.sync.clientConfig
import java.net.URI
import java.net.http.HttpClient
import java.net.http.HttpRequest
import java.net.http.HttpResponse
import java.nio.file.Files
import java.nio.file.Path
import java.nio.file.Paths
import java.time.Duration
import java.util.UUID
import kotlin.reflect.KFunction0

/** A file of tests: `object SomethingTest : Suite { override val tests = listOf(::aTest, …) }`. */
interface Suite {
    val tests: List<KFunction0<Unit>>
}

object Env {
    val serverUrl: String = System.getenv("SERVER_URL").orEmpty()
    val demoPassword: String = System.getenv("DEMO_PASSWORD").orEmpty()
    val adviserEmail: String = System.getenv("ADVISER_EMAIL").orEmpty()

    fun check() {
        require(serverUrl.isNotEmpty() && demoPassword.isNotEmpty() && adviserEmail.isNotEmpty()) {
            "run these tests with mobile-bindings/tests/run (SERVER_URL, DEMO_PASSWORD, ADVISER_EMAIL)"
        }
    }

    /** The shared ServerApi of the tests (one HTTP pool in the library). */
    val api: ServerApi by lazy { ServerApi(serverUrl) }

    val adviser: Adviser by lazy { Adviser() }
}

/** A fresh folder under TMPDIR (the run script's temporary directory, removed at the end). */
fun tempDir(name: String): Path =
    Files.createTempDirectory(Paths.get(System.getProperty("java.io.tmpdir")), "kotlin-$name-")

// ---- REST --------------------------------------------------------------------------------------

class HttpError(val status: Int, val body: String) : Exception("HTTP $status: $body")

private val httpClient: HttpClient = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build()

/** One REST call; returns the decoded JSON (null for an empty body). */
fun http(method: String, path: String, body: Map<String, Any?>? = null, token: String? = null): Any? {
    val request = HttpRequest.newBuilder(URI.create(Env.serverUrl + path))
        .timeout(Duration.ofSeconds(30))
        .header("content-type", "application/json")
        .method(
            method,
            if (body == null) HttpRequest.BodyPublishers.noBody() else HttpRequest.BodyPublishers.ofString(Json.write(body)),
        )
    if (token != null) request.header("authorization", "Bearer $token")
    val response = httpClient.send(request.build(), HttpResponse.BodyHandlers.ofString())
    if (response.statusCode() !in 200..299) throw HttpError(response.statusCode(), response.body())
    return if (response.body().isEmpty()) null else Json.parse(response.body())
}

@Suppress("UNCHECKED_CAST")
fun Any?.obj(): Map<String, Any?> = this as? Map<String, Any?> ?: error("expected a JSON object, got $this")

@Suppress("UNCHECKED_CAST")
fun Any?.array(): List<Any?> = this as? List<Any?> ?: error("expected a JSON array, got $this")

/** The young person's adviser, on the web (REST only). */
class Adviser {
    val token: String = http(
        "POST",
        "/api/v1/auth/login",
        mapOf("email" to Env.adviserEmail, "password" to Env.demoPassword),
    ).obj()["access_token"] as String

    fun plan(youngPersonId: String): Map<String, Any?> =
        http("GET", "/api/v1/young-people/$youngPersonId/plan", token = token).obj()

    fun createAction(youngPersonId: String, vararg fields: Pair<String, Any?>): Map<String, Any?> =
        http("POST", "/api/v1/young-people/$youngPersonId/actions", mapOf(*fields), token).obj()

    fun patchAction(youngPersonId: String, actionId: String, vararg fields: Pair<String, Any?>): Map<String, Any?> =
        http("PATCH", "/api/v1/young-people/$youngPersonId/actions/$actionId", mapOf(*fields), token).obj()

    fun qualifyAction(youngPersonId: String, actionId: String, code: String, comment: String? = null): Any? {
        val body = mutableMapOf<String, Any?>("code" to code)
        if (comment != null) body["comment"] = comment
        return http("POST", "/api/v1/young-people/$youngPersonId/actions/$actionId/qualification", body, token)
    }

    fun commentAction(youngPersonId: String, actionId: String, text: String): Any? =
        http("POST", "/api/v1/young-people/$youngPersonId/actions/$actionId/comments", mapOf("text" to text), token)
}

// ---- a young person and their phones -----------------------------------------------------------

/** The app's side of the session: keeps the pair, refreshes it when the library asks. */
class Tokens(private val api: ServerApi, session: Session?) : TokenSource {
    private var session: Session? = session

    @Volatile var refreshes = 0
        private set

    @Synchronized override fun accessToken(): String? = session?.accessToken

    @Synchronized override fun refreshAccessToken(): String? {
        val current = session ?: return null
        return try {
            api.refresh(current.refreshToken).also { session = it; refreshes++ }.accessToken
        } catch (e: MobileException) {
            session = null
            null
        }
    }
}

/** One phone: an OfflineClient (its whole interface, by delegation) with its config and tokens. */
class Phone(val client: OfflineClient, val config: ClientConfig, val tokens: Tokens) :
    OfflineClientInterface by client, AutoCloseable {
    /** Opens the same folder again (what the app does at its next launch). */
    fun reopen(): OfflineClient = OfflineClient.open(config, tokens)

    override fun close() = client.close()
}

/** A young person created by the adviser, activated and logged in through ServerApi. */
class YoungPerson(adviser: Adviser = Env.adviser, val api: ServerApi = Env.api) {
    private val suffix = UUID.randomUUID().toString().replace("-", "").take(10)
    val email = "yp-$suffix@exemple.fr"
    val password = "mot-de-passe-$suffix"
    val id: String

    init {
        val created = http(
            "POST",
            "/api/v1/young-people",
            mapOf("first_name" to "Test", "last_name" to "Kotlin $suffix", "email" to email),
            adviser.token,
        ).obj()
        id = created["id"] as String
        api.activate(created["activation_code"] as String, password)
    }

    fun login(): Session = api.login(email, password)

    /** Logs in (each phone has its own session) and opens an OfflineClient in a fresh folder. */
    fun phone(name: String): Phone {
        val session = login()
        val tokens = Tokens(api, session)
        val me = api.me(session.accessToken)
        val config = clientConfig(Env.serverUrl, tempDir(name).toString(), me)
        return Phone(OfflineClient.open(config, tokens), config, tokens)
    }
}

/** Polls `condition` every 100 ms until it holds or `seconds` pass; returns whether it held. */
fun eventually(seconds: Double, condition: () -> Boolean): Boolean {
    val deadline = System.nanoTime() + (seconds * 1e9).toLong()
    while (true) {
        if (condition()) return true
        if (System.nanoTime() > deadline) return false
        Thread.sleep(100)
    }
}

// ---- JSON (the REST calls only need objects, arrays, strings, numbers, booleans, null) ----------

object Json {
    fun parse(text: String): Any? {
        val parser = Parser(text)
        val value = parser.value()
        parser.skipSpace()
        require(parser.at == text.length) { "JSON: trailing characters at ${parser.at}" }
        return value
    }

    fun write(value: Any?): String = StringBuilder().also { write(value, it) }.toString()

    private fun write(value: Any?, out: StringBuilder) {
        when (value) {
            null -> out.append("null")
            is String -> {
                out.append('"')
                for (c in value) {
                    when {
                        c == '"' -> out.append("\\\"")
                        c == '\\' -> out.append("\\\\")
                        c < ' ' -> out.append(String.format("\\u%04x", c.code))
                        else -> out.append(c)
                    }
                }
                out.append('"')
            }
            is Boolean, is Int, is Long -> out.append(value.toString())
            is Map<*, *> -> {
                out.append('{')
                value.entries.forEachIndexed { i, (k, v) ->
                    if (i > 0) out.append(',')
                    write(k as String, out)
                    out.append(':')
                    write(v, out)
                }
                out.append('}')
            }
            is List<*> -> {
                out.append('[')
                value.forEachIndexed { i, v ->
                    if (i > 0) out.append(',')
                    write(v, out)
                }
                out.append(']')
            }
            else -> throw IllegalArgumentException("JSON: cannot write ${value::class}")
        }
    }

    private class Parser(val s: String) {
        var at = 0

        fun skipSpace() {
            while (at < s.length && s[at].isWhitespace()) at++
        }

        fun fail(what: String): Nothing = throw IllegalArgumentException("JSON: $what at $at in ${s.take(200)}")

        fun value(): Any? {
            skipSpace()
            if (at >= s.length) fail("unexpected end")
            return when (s[at]) {
                '{' -> objectValue()
                '[' -> arrayValue()
                '"' -> string()
                't' -> literal("true", true)
                'f' -> literal("false", false)
                'n' -> literal("null", null)
                else -> number()
            }
        }

        fun objectValue(): Map<String, Any?> {
            at++
            val map = LinkedHashMap<String, Any?>()
            skipSpace()
            if (s[at] == '}') {
                at++
                return map
            }
            while (true) {
                skipSpace()
                val key = string()
                skipSpace()
                if (s[at++] != ':') fail("expected ':'")
                map[key] = value()
                skipSpace()
                when (s[at++]) {
                    ',' -> continue
                    '}' -> return map
                    else -> fail("expected ',' or '}'")
                }
            }
        }

        fun arrayValue(): List<Any?> {
            at++
            val list = ArrayList<Any?>()
            skipSpace()
            if (s[at] == ']') {
                at++
                return list
            }
            while (true) {
                list.add(value())
                skipSpace()
                when (s[at++]) {
                    ',' -> continue
                    ']' -> return list
                    else -> fail("expected ',' or ']'")
                }
            }
        }

        fun literal(word: String, value: Any?): Any? {
            if (!s.startsWith(word, at)) fail("unexpected token")
            at += word.length
            return value
        }

        fun number(): Any {
            val start = at
            while (at < s.length && (s[at].isDigit() || s[at] in "+-.eE")) at++
            val text = s.substring(start, at)
            return text.toLongOrNull() ?: text.toDoubleOrNull() ?: fail("bad number '$text'")
        }

        fun string(): String {
            if (s[at] != '"') fail("expected a string")
            at++
            val out = StringBuilder()
            while (true) {
                if (at >= s.length) fail("unterminated string")
                val c = s[at++]
                when (c) {
                    '"' -> return out.toString()
                    '\\' -> {
                        when (val e = s[at++]) {
                            '"', '\\', '/' -> out.append(e)
                            'b' -> out.append('\b')
                            'f' -> out.append('\u000c')
                            'n' -> out.append('\n')
                            'r' -> out.append('\r')
                            't' -> out.append('\t')
                            'u' -> {
                                out.append(s.substring(at, at + 4).toInt(16).toChar())
                                at += 4
                            }
                            else -> fail("bad escape '\\$e'")
                        }
                    }
                    else -> out.append(c)
                }
            }
        }
    }
}
