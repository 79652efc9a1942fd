// Runs every test of every `object … : Suite` compiled beside this file (found in the jar, so a new
// file such as ConversationTest.kt with `object ConversationTest : Suite` needs no change here), one
// after the other, suites by name, and prints one line per test, then "N passed, N failed".
// Exit status: 0 when all passed, 1 when one failed, 2 when no test ran.
//
//   java … fr.passemploi.sync.tests.MainKt [FILTER…]
//
// A FILTER keeps the tests whose "Suite.test" name contains it (case-insensitive), like pytest's -k.
// KOTLIN_TEST_TIMEOUT (seconds, default 180) stops the whole run when one test takes longer.
package fr.passemploi.sync.tests

import java.io.File
import java.util.Locale
import java.util.jar.JarFile
import kotlin.system.exitProcess

/** The suites (`object … : Suite`) in the jar or folder this class was loaded from, by name. */
fun suites(): List<Pair<String, Suite>> {
    val location = File(Suite::class.java.protectionDomain.codeSource.location.toURI())
    val prefix = Suite::class.java.packageName.replace('.', '/') + "/"
    val classFiles = if (location.isDirectory) {
        location.walkTopDown().filter { it.isFile }.map { it.relativeTo(location).invariantSeparatorsPath }.toList()
    } else {
        JarFile(location).use { jar -> jar.entries().toList().map { it.name } }
    }
    val loader = Suite::class.java.classLoader
    return classFiles
        .filter { it.startsWith(prefix) && it.endsWith(".class") && '$' !in it && '/' !in it.removePrefix(prefix) }
        .map { it.removeSuffix(".class").replace('/', '.') }
        .sorted()
        .map { Class.forName(it, false, loader) }
        .filter { it != Suite::class.java && Suite::class.java.isAssignableFrom(it) }
        .map { suite ->
            val instance = runCatching { suite.getField("INSTANCE").get(null) }.getOrNull() as? Suite
                ?: error("${suite.name} is a Suite but not an `object`")
            suite.simpleName to instance
        }
}

private object Running {
    @Volatile var test: Pair<String, Long>? = null
}

fun main(args: Array<String>) {
    Env.check()
    val timeoutSeconds = System.getenv("KOTLIN_TEST_TIMEOUT")?.toLongOrNull() ?: 180
    val filters = args.map { it.lowercase() }
    val selected = suites().flatMap { (suite, s) -> s.tests.map { "$suite.${it.name}" to it } }
        .filter { (name, _) -> filters.isEmpty() || filters.any { it in name.lowercase() } }
    if (selected.isEmpty()) {
        System.err.println("kotlin tests: no test matches ${filters.ifEmpty { listOf("(all)") }}")
        exitProcess(2)
    }

    // A test that hangs (a native call that never returns) must not hang the whole run.
    Thread {
        while (true) {
            Thread.sleep(1000)
            val (name, since) = Running.test ?: continue
            if (System.nanoTime() - since > timeoutSeconds * 1_000_000_000) {
                System.err.println("FAILED  $name: still running after $timeoutSeconds s (KOTLIN_TEST_TIMEOUT)")
                Runtime.getRuntime().halt(1)
            }
        }
    }.apply { isDaemon = true }.start()

    val failed = mutableListOf<String>()
    val started = System.nanoTime()
    for ((name, test) in selected) {
        val t0 = System.nanoTime()
        Running.test = name to t0
        val error = try {
            test()
            null
        } catch (e: Throwable) {
            e
        }
        val seconds = "%.1f s".format(Locale.ROOT, (System.nanoTime() - t0) / 1e9)
        if (error == null) {
            println("ok      $name ($seconds)")
        } else {
            failed += name
            // An assertion says what failed; a MobileException's toString() is its French reason.
            val why = if (error is AssertionError) error.message else "${error::class.qualifiedName}: $error"
            println("FAILED  $name ($seconds): $why")
            // The frames of the tests themselves, not of the runner or of kotlin.test.
            error.stackTrace.filter { it.className.startsWith("fr.passemploi.sync.tests.") && it.className != "fr.passemploi.sync.tests.MainKt" }
                .take(6).forEach { println("          at $it") }
        }
        System.out.flush()
    }
    Running.test = null
    val passed = selected.size - failed.size
    println("kotlin tests in %.1f s".format(Locale.ROOT, (System.nanoTime() - started) / 1e9))
    if (failed.isNotEmpty()) println("failed: ${failed.joinToString(", ")}")
    println("$passed passed, ${failed.size} failed")
    System.out.flush()
    exitProcess(if (failed.isEmpty()) 0 else 1)
}
