// The young person's plan through the generated Kotlin bindings (fr.passemploi.sync, JNA), against
// the real server: sign in, offline edits on two phones and by the adviser (REST), sync in both
// orders and convergence, a refused edit undone, live sync and the PlanListener, errors as
// MobileException with their French reason, tasks, queries and logout.
package fr.passemploi.sync.tests

import fr.passemploi.sync.Action
import fr.passemploi.sync.ActionCategory
import fr.passemploi.sync.ActionPatch
import fr.passemploi.sync.ActionStatus
import fr.passemploi.sync.Connection
import fr.passemploi.sync.MobileException
import fr.passemploi.sync.NewAction
import fr.passemploi.sync.NewTask
import fr.passemploi.sync.OfflineClient
import fr.passemploi.sync.Platform
import fr.passemploi.sync.PlanListener
import fr.passemploi.sync.QualificationCode
import fr.passemploi.sync.Recovery
import fr.passemploi.sync.Role
import fr.passemploi.sync.ServerApi
import fr.passemploi.sync.TaskKind
import fr.passemploi.sync.TaskPatch
import fr.passemploi.sync.TaskStatus
import fr.passemploi.sync.TokenSource
import fr.passemploi.sync.clientConfig
import fr.passemploi.sync.errorMessage
import java.io.File
import java.time.LocalDate
import java.time.ZoneId
import java.util.UUID
import java.util.concurrent.CopyOnWriteArrayList
import java.util.concurrent.CountDownLatch
import java.util.concurrent.TimeUnit
import java.util.concurrent.atomic.AtomicInteger
import kotlin.test.assertContains
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertNotEquals
import kotlin.test.assertNotNull
import kotlin.test.assertNull
import kotlin.test.assertTrue
import kotlin.test.fail

object PlanTest : Suite {
    override val tests = listOf(
        ::signInWithServerApiAndOpenAnEmptyPlan,
        ::twoPhonesAndTheAdviserConvergeAThenBThenA,
        ::twoPhonesAndTheAdviserConvergeBThenAThenB,
        ::anEditRefusedByTheServerIsUndoneAndShowsUpAsANotice,
        ::liveSyncTellsTheListenerWhenTheAdviserEdits,
        ::syncNowTellsTheListenerAndAThrowingListenerIsIgnored,
        ::errorsCrossAsMobileExceptionWithAFrenchReason,
        ::tasksQueriesPushTokenAndLogout,
    )

    // ---- views of the plan, comparable between the phones and the server ------------------------

    /** One action as the adviser's REST view and the phone both describe it. */
    data class ActionView(
        val title: String,
        val description: String?,
        val category: String,
        val status: String,
        val dueDate: String?,
        val updatedAt: String,
        val comments: List<String>,
    )

    private fun restActions(adviser: Adviser, young: YoungPerson): Map<String, ActionView> =
        adviser.plan(young.id)["actions"].array().map { it.obj() }.associate { a ->
            a["id"] as String to ActionView(
                title = a["title"] as String,
                description = a["description"] as String?,
                category = a["category"] as String,
                status = a["status"] as String,
                dueDate = a["due_date"] as String?,
                updatedAt = a["updated_at"] as String,
                comments = a["comments"].array().map { c -> c.obj()["text"] as String },
            )
        }

    private fun phoneActions(phone: Phone): Map<String, ActionView> =
        phone.plan().actions.associate { a ->
            a.id to ActionView(
                title = a.title,
                description = a.description,
                category = a.category.name,
                status = a.status.name.lowercase(),
                dueDate = a.dueDate,
                updatedAt = a.updatedAt,
                comments = a.comments.map { it.text },
            )
        }

    private fun action(phone: Phone, id: String): Action {
        val found = phone.plan().actions.filter { it.id == id }
        assertEquals(1, found.size, "action $id on the phone")
        return found.single()
    }

    // ---- sign in -----------------------------------------------------------------------------------

    fun signInWithServerApiAndOpenAnEmptyPlan() {
        val young = YoungPerson()
        val api = Env.api
        val session = young.login()
        assertEquals(young.id, session.userId, "Session.userId")
        assertEquals("young_person", session.role)
        assertTrue(session.expiresIn > 0, "expiresIn ${session.expiresIn}")
        val me = api.me(session.accessToken)
        assertEquals(young.id, me.id)
        assertEquals(Role.YOUNG_PERSON, me.role)
        assertEquals("Test", me.firstName)
        assertNotNull(me.planDocumentId, "a young person has a plan")

        // A refresh gives a new pair; the old refresh token used again ends the whole session.
        val renewed = api.refresh(session.refreshToken)
        assertNotEquals(session.accessToken, renewed.accessToken)
        assertEquals(young.id, api.me(renewed.accessToken).id)
        assertFailsWith<MobileException.SignedOut> { api.refresh(session.refreshToken) }
        assertFailsWith<MobileException.SignedOut> { api.refresh(renewed.refreshToken) }

        // Staff have no plan: no ClientConfig for them.
        val adviserMe = api.me(api.login(Env.adviserEmail, Env.demoPassword).accessToken)
        assertEquals(Role.ADVISER, adviserMe.role)
        assertNull(adviserMe.planDocumentId)
        val noPlan = assertFailsWith<MobileException.InvalidInput> {
            clientConfig(Env.serverUrl, tempDir("adviser").toString(), adviserMe)
        }
        assertContains(noPlan.toString(), "pas de plan")

        // A fresh phone: the plan is empty, nothing to send, nothing repaired.
        val phone = young.phone("first-launch")
        phone.use {
            assertEquals(young.id, phone.config.youngPersonId)
            assertEquals(me.planDocumentId, phone.config.planDocumentId)
            assertEquals(me.timezone ?: "Europe/Paris", phone.config.timezone)
            assertEquals(young.id, phone.youngPersonId())
            assertEquals(Recovery(truncatedBytes = 0uL, corruptSnapshots = 0u), phone.recovery())
            assertEquals(0uL, phone.pendingChanges())
            assertTrue(phone.plan().actions.isEmpty() && phone.tasks().isEmpty() && phone.notices().isEmpty())
            val report = phone.syncNow()
            assertEquals(0uL, report.pendingChanges)
            assertTrue(report.rounds >= 1u, "rounds ${report.rounds}")
            assertEquals(Connection.Stopped, phone.connection())
        }
    }

    // ---- two phones and the adviser ----------------------------------------------------------------

    private class Scene(
        val young: YoungPerson,
        val adviser: Adviser,
        val a: Phone,
        val b: Phone,
        val shared: String,
        val doneOnA: String,
        val taskOnB: String,
        val created: Set<String>,
    )

    /** Both phones and the adviser share one action, then each edits it (and more) with no sync. */
    private fun concurrentOfflineEdits(): Scene {
        val adviser = Env.adviser
        val young = YoungPerson(adviser)
        val a = young.phone("phone-a")
        val b = young.phone("phone-b")
        val shared = a.createAction(NewAction(title = "Préparer l'entretien chez Decathlon", dueDate = "2026-12-05"))
        a.syncNow()
        b.syncNow()
        assertEquals(a.plan(), b.plan(), "after the first sync")
        assertEquals(0uL, a.pendingChanges())
        assertEquals(0uL, b.pendingChanges())

        // Offline: nobody syncs. Concurrent edits of one action (the same field on both phones, other
        // fields here and there), plus new actions, a completed one and a task.
        a.updateAction(shared, ActionPatch(title = "Titre du téléphone A", status = ActionStatus.IN_PROGRESS))
        a.commentAction(shared, "Commentaire du téléphone A")
        val onlyA = a.createAction(NewAction(title = "Action créée hors ligne sur A"))
        a.completeAction(onlyA)
        b.updateAction(shared, ActionPatch(title = "Titre du téléphone B", description = "Apporter le CV"))
        b.commentAction(shared, "Commentaire du téléphone B")
        val onlyB = b.createAction(NewAction(title = "Action créée hors ligne sur B", category = ActionCategory.SANTE))
        val task = b.createTask(
            NewTask(kind = TaskKind.APPLICATION, title = "Candidature vendeur", company = "Decathlon", dueDate = "2026-12-10"),
        )
        adviser.patchAction(young.id, shared, "due_date" to "2026-12-12", "category" to "EMPLOI")
        adviser.commentAction(young.id, shared, "Commentaire de la conseillère")
        val byAdviser = adviser.createAction(young.id, "title" to "Action de la conseillère", "category" to "FORMATION")["id"] as String

        // Each side still sees only its own edits, and the edits are counted as pending.
        assertEquals("Titre du téléphone A", action(a, shared).title)
        assertEquals("Titre du téléphone B", action(b, shared).title)
        assertEquals(ActionStatus.DONE, action(a, onlyA).status)
        assertNotNull(action(a, onlyA).completedAt, "completedAt of a done action")
        assertTrue(onlyB !in phoneActions(a) && onlyA !in phoneActions(b) && byAdviser !in phoneActions(a))
        assertTrue(a.tasks().isEmpty(), "B's task is not on A yet")
        assertEquals(4uL, a.pendingChanges(), "A's pending changes")
        assertEquals(4uL, b.pendingChanges(), "B's pending changes")
        return Scene(young, adviser, a, b, shared, onlyA, task, setOf(onlyA, onlyB, byAdviser))
    }

    private fun assertConverged(s: Scene) {
        val planA = s.a.plan()
        assertEquals(planA, s.b.plan(), "the two phones hold different plans")
        assertEquals(restActions(s.adviser, s.young), phoneActions(s.a), "the phones and the server differ")
        assertTrue(phoneActions(s.a).keys.containsAll(s.created), "created actions missing: ${s.created - phoneActions(s.a).keys}")
        val merged = action(s.a, s.shared)
        // The same field edited on both phones: one of the two titles wins, the same everywhere.
        assertTrue(merged.title in setOf("Titre du téléphone A", "Titre du téléphone B"), "merged title ${merged.title}")
        assertEquals("Apporter le CV", merged.description)
        assertEquals(ActionStatus.IN_PROGRESS, merged.status)
        assertEquals(ActionCategory.EMPLOI, merged.category)
        assertEquals("2026-12-12", merged.dueDate)
        assertEquals(
            listOf("Commentaire de la conseillère", "Commentaire du téléphone A", "Commentaire du téléphone B"),
            merged.comments.map { it.text }.sorted(),
        )
        assertEquals(Role.ADVISER, merged.comments.single { it.text == "Commentaire de la conseillère" }.author.role)
        assertEquals(ActionStatus.DONE, action(s.b, s.doneOnA).status, "A's completion reached B")
        // B's task, on A and on the server.
        val task = s.a.tasks().single()
        assertEquals(s.taskOnB, task.id)
        assertEquals(TaskKind.APPLICATION to "Decathlon", task.kind to task.company)
        assertEquals(TaskStatus.TO_DO, task.status)
        val restTask = s.adviser.plan(s.young.id)["tasks"].array().map { it.obj() }.single()
        assertEquals(listOf(s.taskOnB, "Candidature vendeur", "2026-12-10"), listOf(restTask["id"], restTask["title"], restTask["due_date"]))
        assertEquals(0uL, s.a.pendingChanges())
        assertEquals(0uL, s.b.pendingChanges())
        assertTrue(s.a.notices().isEmpty() && s.b.notices().isEmpty(), "notices ${s.a.notices()} ${s.b.notices()}")
    }

    fun twoPhonesAndTheAdviserConvergeAThenBThenA() {
        val s = concurrentOfflineEdits()
        s.a.use {
            s.b.use {
                val first = s.a.syncNow()
                assertEquals(0uL, first.pendingChanges)
                assertTrue(first.planChanged, "A's first sync brings the adviser's edits")
                assertTrue(first.bytesSent > 0uL && first.bytesReceived > 0uL, "bytes of $first")
                s.b.syncNow()
                s.a.syncNow()
                assertConverged(s)
            }
        }
    }

    fun twoPhonesAndTheAdviserConvergeBThenAThenB() {
        val s = concurrentOfflineEdits()
        s.a.use {
            s.b.syncNow()
            s.a.syncNow()
            s.b.syncNow()
            assertConverged(s)
            // Reopening from disk gives the same plan (nothing lives only in memory).
            val expected = s.b.plan()
            s.b.close()
            s.b.reopen().use { reopened -> assertEquals(expected, reopened.plan(), "the plan reopened from disk") }
        }
    }

    // ---- a refused edit ----------------------------------------------------------------------------

    fun anEditRefusedByTheServerIsUndoneAndShowsUpAsANotice() {
        val young = YoungPerson()
        val adviser = Env.adviser
        young.phone("phone").use { phone ->
            val cv = phone.createAction(NewAction(title = "Mettre à jour mon CV", category = ActionCategory.EMPLOI))
            phone.completeAction(cv)
            phone.syncNow()
            // The adviser qualifies the done action (locked from then on) while the phone, offline,
            // still edits it: its rulebook cannot know yet.
            adviser.qualifyAction(young.id, cv, "EMPLOI", "CV envoyé à trois employeurs")
            phone.updateAction(cv, ActionPatch(title = "Mettre à jour mon CV et ma lettre"))
            assertEquals("Mettre à jour mon CV et ma lettre", action(phone, cv).title)
            assertTrue(phone.notices().isEmpty())

            phone.syncNow()
            val undone = action(phone, cv)
            assertEquals("Mettre à jour mon CV", undone.title, "the refused edit is undone on the phone")
            val qualification = assertNotNull(undone.qualification, "the adviser's qualification")
            assertEquals(QualificationCode.EMPLOI, qualification.code)
            assertEquals("CV envoyé à trois employeurs", qualification.comment)
            val notices = phone.notices()
            assertEquals(1, notices.size, "notices $notices")
            assertEquals(young.id, notices[0].forUser)
            assertTrue(notices[0].reasons.isNotEmpty() && notices[0].reasons.all { it.isNotBlank() }, "reasons ${notices[0].reasons}")
            assertEquals(0uL, phone.pendingChanges())
            assertEquals("Mettre à jour mon CV", restActions(adviser, young).getValue(cv).title)
            // Now the phone's own rulebook refuses the same edit at once, with a French message.
            val refused = assertFailsWith<MobileException.Refused> {
                phone.updateAction(cv, ActionPatch(title = "Encore une fois"))
            }
            assertContains(refused.toString(), "refusée")
            assertEquals(refused.reason, refused.toString())
        }
    }

    // ---- the listener ------------------------------------------------------------------------------

    /** Counts the callbacks (called on the library's threads). */
    private class Listener : PlanListener {
        val changes = AtomicInteger()
        @Volatile var changed = CountDownLatch(1)
        val online = CountDownLatch(1)
        val connections = CopyOnWriteArrayList<Connection>()
        val threads = CopyOnWriteArrayList<String>()

        override fun planChanged() {
            threads += Thread.currentThread().name
            changes.incrementAndGet()
            changed.countDown()
        }

        override fun connectionChanged(connection: Connection) {
            threads += Thread.currentThread().name
            connections += connection
            if (connection == Connection.Online) online.countDown()
        }

        override fun messagesChanged() {}
    }

    fun liveSyncTellsTheListenerWhenTheAdviserEdits() {
        val young = YoungPerson()
        val adviser = Env.adviser
        young.phone("phone").use { phone ->
            val listener = Listener()
            phone.setListener(listener)
            phone.startLive()
            try {
                assertTrue(listener.online.await(15, TimeUnit.SECONDS), "never online: ${listener.connections}")
                assertEquals(Connection.Online, phone.connection())
                assertTrue(Connection.Connecting in listener.connections, "Connecting before Online: ${listener.connections}")
                Thread.sleep(500) // let the first exchange settle
                listener.changed = CountDownLatch(1)
                val started = System.nanoTime()
                val created = adviser.createAction(young.id, "title" to "Action créée en direct par la conseillère", "category" to "EMPLOI")["id"] as String
                assertTrue(listener.changed.await(5, TimeUnit.SECONDS), "planChanged did not fire within 5 s")
                println("          planChanged %.2f s after the adviser's request was sent".format(java.util.Locale.ROOT, (System.nanoTime() - started) / 1e9))
                assertTrue(created in phoneActions(phone), "the adviser's action is on the phone when planChanged fires")
                assertTrue(listener.threads.none { it == Thread.currentThread().name }, "callbacks on the test's thread: ${listener.threads}")

                // The other way: an edit on the phone reaches the server without any explicit sync.
                val mine = phone.createAction(NewAction(title = "Action du téléphone en direct"))
                assertTrue(eventually(5.0) { mine in restActions(adviser, young) }, "the phone's action did not reach the server within 5 s")
                assertTrue(eventually(5.0) { phone.pendingChanges() == 0uL }, "pending ${phone.pendingChanges()} while live")
            } finally {
                phone.stopLive()
            }
            assertEquals(Connection.Stopped, phone.connection())
            assertEquals(Connection.Stopped, listener.connections.last(), "last connection event of ${listener.connections}")
        }
    }

    fun syncNowTellsTheListenerAndAThrowingListenerIsIgnored() {
        val young = YoungPerson()
        val adviser = Env.adviser
        young.phone("phone").use { phone ->
            phone.syncNow()
            val listener = Listener()
            phone.setListener(listener)
            val quiet = phone.syncNow()
            assertTrue(!quiet.planChanged && listener.changes.get() == 0, "nothing new, nothing told: $quiet, ${listener.changes}")
            adviser.createAction(young.id, "title" to "Pour la synchro en arrière-plan", "category" to "LOGEMENT")
            val report = phone.syncNow()
            assertTrue(report.planChanged, "the adviser's action is news: $report")
            assertEquals(1, listener.changes.get(), "planChanged calls after one sync with news")
            assertEquals(ActionCategory.LOGEMENT, phone.plan().actions.single().category)

            // An exception thrown by the app's listener is not a crash: the sync goes on.
            val calls = AtomicInteger()
            phone.setListener(object : PlanListener {
                override fun planChanged() {
                    calls.incrementAndGet()
                    throw IllegalStateException("l'écran a été détruit")
                }

                override fun connectionChanged(connection: Connection) {
                    throw MobileException.Internal("écran détruit")
                }

                override fun messagesChanged() {}
            })
            adviser.createAction(young.id, "title" to "Encore une", "category" to "SANTE")
            assertTrue(phone.syncNow().planChanged)
            assertEquals(1, calls.get(), "the throwing listener was called")
            assertEquals(2, phone.plan().actions.size)

            // No listener: nobody is told.
            phone.setListener(null)
            adviser.createAction(young.id, "title" to "Et une troisième", "category" to "SANTE")
            assertTrue(phone.syncNow().planChanged)
            assertEquals(1, calls.get(), "a removed listener is not called")
            assertEquals(1, listener.changes.get(), "a replaced listener is not called")
        }
    }

    // ---- errors ------------------------------------------------------------------------------------

    fun errorsCrossAsMobileExceptionWithAFrenchReason() {
        val young = YoungPerson()
        val api = Env.api
        young.phone("phone").use { phone ->
            val unknown = UUID.randomUUID().toString()
            val notFound = assertFailsWith<MobileException.NotFound> { phone.completeAction(unknown) }
            assertContains(notFound.toString(), unknown)
            assertContains(notFound.toString(), "introuvable")
            assertEquals(notFound.toString(), errorMessage(notFound), "errorMessage and toString")
            val invalid = assertFailsWith<MobileException.InvalidInput> {
                phone.updateAction("pas-un-identifiant", ActionPatch(title = "x"))
            }
            assertContains(invalid.reason, "identifiant invalide")
            val badDate = assertFailsWith<MobileException.InvalidInput> {
                phone.createAction(NewAction(title = "Date à l'envers", dueDate = "05/12/2026"))
            }
            assertContains(badDate.toString(), "AAAA-MM-JJ")
            val blank = assertFailsWith<MobileException.Refused> { phone.createAction(NewAction(title = "   ")) }
            assertTrue(blank.reason.isNotBlank(), "the rulebook says why")
            assertFailsWith<MobileException.Refused> { api.login(young.email, "mauvais mot de passe") }
            val badUrl = assertFailsWith<MobileException.InvalidInput> { ServerApi("ftp://exemple.fr") }
            assertContains(badUrl.toString(), "adresse du serveur invalide")
            assertFailsWith<MobileException.Network> { ServerApi("http://127.0.0.1:9").login(young.email, young.password) }
            // Every MobileException is also caught as the sealed base class.
            val caught: MobileException = try {
                phone.deleteAction(unknown)
                fail("deleting an unknown action")
            } catch (e: MobileException) {
                e
            }
            assertTrue(caught is MobileException.NotFound, "sealed class: ${caught::class}")
            assertEquals(0uL, phone.pendingChanges(), "refused edits leave nothing pending")

            // An exception thrown by the app's TokenSource is not a crash: no token, so signed out.
            val broken = object : TokenSource {
                override fun accessToken(): String? = throw IllegalStateException("trousseau verrouillé")
                override fun refreshAccessToken(): String? = throw IllegalStateException("trousseau verrouillé")
            }
            val config = phone.config.copy(dataDir = tempDir("broken-keychain").toString())
            OfflineClient.open(config, broken).use { client ->
                val signedOut = assertFailsWith<MobileException.SignedOut> { client.syncNow() }
                assertEquals("session expirée : reconnectez-vous", signedOut.toString())
                assertEquals(0uL, client.pendingChanges())
            }
            val noDir = assertFailsWith<MobileException.InvalidInput> {
                OfflineClient.open(config.copy(dataDir = " "), phone.tokens)
            }
            assertContains(noDir.toString(), "dossier")
        }
    }

    // ---- tasks, queries, push token, logout --------------------------------------------------------

    fun tasksQueriesPushTokenAndLogout() {
        val young = YoungPerson()
        val adviser = Env.adviser
        val api = Env.api
        val phone = young.phone("phone")
        val zone = ZoneId.of(phone.config.timezone)
        val today = LocalDate.now(zone).toString()
        val due = phone.createAction(NewAction(title = "À faire aujourd'hui", dueDate = today))
        val done = phone.createAction(NewAction(title = "Déjà faite"))
        phone.completeAction(done)
        val task = phone.createTask(NewTask(kind = TaskKind.APPLICATION, title = "Candidature boulangerie", company = "Paul"))
        phone.updateTask(task, TaskPatch(company = "", notes = "Relancer lundi"))
        val other = phone.createTask(NewTask(kind = TaskKind.NETWORKING, title = "Café avec une ancienne collègue"))
        phone.completeTask(other)

        val agenda = phone.agenda(today)
        assertEquals(today, agenda.day)
        assertEquals(listOf(due), agenda.actionsDue.map { it.id })
        assertEquals(agenda, phone.agenda(), "agenda() is today in the young person's zone")
        assertEquals(listOf(done), phone.actions(ActionStatus.DONE).map { it.id })
        assertEquals(2, phone.actions().size)
        val tasks = phone.tasks()
        assertEquals(listOf(task, other), tasks.map { it.id }, "open tasks first")
        assertEquals(Triple(null, "Relancer lundi", TaskStatus.TO_DO), tasks[0].let { Triple(it.company, it.notes, it.status) })
        assertEquals(TaskStatus.DONE, tasks[1].status)
        assertNotNull(tasks[1].doneAt)
        assertEquals(7uL, phone.pendingChanges())
        assertTrue(phone.storageBytes() > 0uL)
        assertTrue(File(phone.config.dataDir).list()!!.isNotEmpty(), "the plan's files are in dataDir")

        // Refused while changes are not on the server; the client stays usable.
        val pending = assertFailsWith<MobileException.PendingChanges> { phone.logout(false) }
        assertEquals(7uL, pending.count)
        assertContains(pending.toString(), "7 modification(s)")
        phone.syncNow()
        assertTrue(phone.upcomingAppointments().isEmpty())
        val restTasks = adviser.plan(young.id)["tasks"].array().map { it.obj() }.associateBy { it["id"] as String }
        assertEquals(setOf(task, other), restTasks.keys)
        assertEquals(listOf("to_do", "done"), listOf(restTasks.getValue(task)["status"], restTasks.getValue(other)["status"]))
        assertEquals("Relancer lundi", restTasks.getValue(task)["notes"])

        phone.registerPushToken(Platform.ANDROID, "fcm-token-" + UUID.randomUUID())
        val token = assertNotNull(phone.tokens.accessToken())
        api.registerDevice(token, Platform.IOS, "a".repeat(64))

        phone.logout(false)
        assertTrue(!File(phone.config.dataDir, "state.json").exists(), "the plan's files are deleted")
        assertFailsWith<MobileException.SignedOut> { phone.plan() }
        assertEquals(Connection.SignedOut, phone.connection())
        assertFailsWith<MobileException.SignedOut> { api.me(token) } // the session was revoked on the server
        phone.close()
    }
}
