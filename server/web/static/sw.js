// The advisers' service worker: shows the server's Web Push messages and opens, on a click, the
// page a notification is about. Payload: {id, kind, title, body, data: {young_person_id, action_id…}}.
"use strict";
self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

function pageOf(data) {
  if (!data || !data.young_person_id) return "/notifications";
  const file = `/beneficiaires/${data.young_person_id}`;
  if (data.action_id) return `${file}/actions/${data.action_id}`;
  if (data.appointment_id) return `${file}/rendez-vous/${data.appointment_id}`;
  if (data.task_id) return `${file}/demarches/${data.task_id}`;
  if (data.message_id) return `${file}/messages`;
  return file;
}

self.addEventListener("push", (event) => {
  const message = event.data ? event.data.json() : {};
  const title = message.title || "Pass emploi";
  event.waitUntil(
    (async () => {
      for (const page of await self.clients.matchAll({ type: "window", includeUncontrolled: true })) {
        page.postMessage({ push: message });
      }
      await self.registration.showNotification(title, {
        body: message.body || "",
        tag: message.id,
        data: { url: pageOf(message.data) },
      });
    })(),
  );
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const url = (event.notification.data && event.notification.data.url) || "/notifications";
  event.waitUntil(self.clients.openWindow(url));
});
