// The conversation through the generated Kotlin bindings, on the JVM, against the real server: two
// phones of a young person and their adviser write offline and converge; a message sent offline
// arrives after reconnection exactly once; refusals come back as MobileException.
package fr.passemploi.sync.tests

import fr.passemploi.sync.Connection
import fr.passemploi.sync.MobileException
import fr.passemploi.sync.OfflineClient
import fr.passemploi.sync.PlanListener
import java.util.concurrent.CountDownLatch
import java.util.concurrent.TimeUnit
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertTrue

object ConversationTest : Suite {
    override val tests = listOf(
        ::twoPhonesAndTheAdviserWriteOfflineAndConverge,
        ::aMessageSentOfflineArrivesOnceAfterReconnection,
        ::refusalsAreMobileExceptions,
    )

    private fun messagesOnServer(young: YoungPerson): List<Map<String, Any?>> =
        http("GET", "/api/v1/young-people/${young.id}/conversation?limit=200", token = Env.adviser.token)
            .obj()["messages"].array().map { it.obj() }

    private fun adviserSends(young: YoungPerson, text: String) {
        http("POST", "/api/v1/young-people/${young.id}/conversation/messages", mapOf("text" to text), Env.adviser.token)
    }

    fun twoPhonesAndTheAdviserWriteOfflineAndConverge() {
        val young = YoungPerson()
        young.phone("first").use { first ->
            young.phone("second").use { second ->
                val sent = first.sendMessage("Bonjour depuis Kotlin", null)
                second.sendMessage("Le second téléphone écrit aussi", null)
                adviserSends(young, "Bonjour, bien reçu")
                repeat(2) { listOf(first, second).forEach { assertEquals(0uL, it.syncNow().pendingChanges) } }
                val onFirst = first.messages(null, 50u)
                assertEquals(onFirst, second.messages(null, 50u), "both phones hold the same messages in the same order")
                assertEquals(messagesOnServer(young).map { it["id"] }, onFirst.map { it.id })
                assertEquals(3, onFirst.size)
                assertEquals(1, messagesOnServer(young).count { it["id"] == sent })
                assertEquals(1uL, first.unreadMessages())
                first.markMessagesRead()
                assertEquals(0uL, first.unreadMessages())
            }
        }
    }

    fun aMessageSentOfflineArrivesOnceAfterReconnection() {
        val young = YoungPerson()
        young.phone("phone").use { phone ->
            val sent = phone.sendMessage("Écrit hors ligne", null)
            OfflineClient.open(phone.config, phone.tokens).use { reopened ->
                assertEquals(listOf(sent), reopened.messages(null, 10u).map { it.id })
                val online = CountDownLatch(1)
                val messages = CountDownLatch(1)
                reopened.setListener(object : PlanListener {
                    override fun planChanged() {}
                    override fun connectionChanged(connection: Connection) {
                        if (connection == Connection.Online) online.countDown()
                    }
                    override fun messagesChanged() = messages.countDown()
                })
                reopened.startLive()
                try {
                    assertTrue(online.await(10, TimeUnit.SECONDS), "online")
                    assertTrue(eventually(10.0) { reopened.pendingChanges() == 0uL }, "sent")
                    reopened.syncNow()
                    assertEquals(1, messagesOnServer(young).count { it["id"] == sent }, "exactly once")
                    adviserSends(young, "Réponse du conseiller")
                    assertTrue(messages.await(10, TimeUnit.SECONDS), "messagesChanged when the adviser answers")
                    assertEquals("Réponse du conseiller", reopened.messages(null, 1u).single().text)
                } finally {
                    reopened.stopLive()
                }
            }
        }
    }

    fun refusalsAreMobileExceptions() {
        val young = YoungPerson()
        young.phone("phone").use { phone ->
            adviserSends(young, "Message du conseiller")
            phone.syncNow()
            val theirs = phone.messages(null, 1u).single()
            val refused = assertFailsWith<MobileException.Refused> { phone.editMessage(theirs.id, "Réécrit") }
            assertTrue(refused.toString().contains("auteur"), refused.toString())
            assertFailsWith<MobileException.Refused> { phone.sendMessage("é".repeat(5001), null) }
            assertFailsWith<MobileException.InvalidInput> { phone.messages(null, 0u) }
            val mine = phone.sendMessage("À supprimer", null)
            phone.deleteMessage(mine)
            assertEquals("Message supprimé", phone.messages(null, 1u).single().text)
        }
    }
}
