// The service worker: shows each push and hands it to the page (which reports it to the harness).
self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

self.addEventListener("push", (event) => {
  const message = event.data ? event.data.json() : null;
  event.waitUntil(
    (async () => {
      const pages = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
      for (const page of pages) page.postMessage({ push: message });
      await fetch("/report", { method: "POST", body: JSON.stringify({ sw_received: message }) });
      try {
        await self.registration.showNotification(message.title, { body: message.body, tag: message.id, data: message.data });
      } catch (e) {
        await fetch("/report", { method: "POST", body: JSON.stringify({ sw_notification_error: String(e) }) });
      }
    })(),
  );
});
