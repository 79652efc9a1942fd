// The advisers' web app works without this script. It adds three things only:
// - live updates: a page that shows plans follows the server's event stream (`data-live-stream` on
//   <body>) and, when one of its plans changes, fetches itself again and swaps the regions marked
//   `data-live` — except a region where the adviser is typing (focus, or a field they changed);
// - browser notifications: the button of /notifications (service worker + Web Push subscription),
//   the subscription posted again once a day, and forgotten at sign-out;
// - nothing else: every form posts and every link navigates as plain HTML.
"use strict";

function changedByUser(region) {
  if (region.contains(document.activeElement) && document.activeElement !== document.body) return true;
  for (const field of region.querySelectorAll("input, textarea, select")) {
    if (field.type === "hidden") continue;
    if (field.type === "checkbox" || field.type === "radio") {
      if (field.checked !== field.defaultChecked) return true;
    } else if (field.tagName === "SELECT") {
      for (const option of field.options) if (option.selected !== option.defaultSelected) return true;
    } else if (field.value !== field.defaultValue) {
      return true;
    }
  }
  return false;
}

let refreshing = false;
let again = false;

async function refresh() {
  if (refreshing) {
    again = true;
    return;
  }
  refreshing = true;
  try {
    const response = await fetch(window.location.href, { headers: { "X-Live-Refresh": "1" }, credentials: "same-origin" });
    if (!response.ok) return;
    const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
    for (const region of document.querySelectorAll("[data-live]")) {
      const next = fresh.querySelector(`[data-live="${CSS.escape(region.dataset.live)}"]`);
      if (!next || changedByUser(region)) continue;
      region.replaceWith(document.importNode(next, true));
    }
    document.dispatchEvent(new CustomEvent("pe:refreshed"));
  } catch (e) {
    console.warn("live refresh failed", e);
  } finally {
    refreshing = false;
    if (again) {
      again = false;
      refresh();
    }
  }
}

function followLive() {
  const stream = document.body.dataset.liveStream;
  if (!stream || !window.EventSource) return;
  const source = new EventSource(stream);
  source.addEventListener("plan", () => refresh());
  source.addEventListener("ready", () => document.body.setAttribute("data-live-ready", "true"));
  source.addEventListener("access", () => window.location.reload());
}

function base64UrlToBytes(text) {
  const padded = (text + "===".slice((text.length + 3) % 4)).replace(/-/g, "+").replace(/_/g, "/");
  return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
}

function withTimeout(promise, ms) {
  return Promise.race([promise, new Promise((_, reject) => setTimeout(() => reject(new Error("délai dépassé")), ms))]);
}

// The page's CSRF token (every signed-in page has the sign-out form).
function csrfToken() {
  const field = document.querySelector('input[name="csrf"]');
  return field ? field.value : "";
}

function postSubscription(subscription) {
  const body = new URLSearchParams({ csrf: csrfToken(), subscription: JSON.stringify(subscription.toJSON()) });
  return fetch("/notifications/abonnement", { method: "POST", body, credentials: "same-origin" });
}

async function currentSubscription() {
  if (!("serviceWorker" in navigator) || !("PushManager" in window)) return null;
  const registration = await navigator.serviceWorker.getRegistration("/");
  return registration ? registration.pushManager.getSubscription() : null;
}

async function enableNotifications(button) {
  const status = document.getElementById("push-status");
  const say = (text) => {
    if (status) status.textContent = text;
  };
  if (!("serviceWorker" in navigator) || !("PushManager" in window)) {
    say("Ce navigateur ne permet pas les notifications.");
    return;
  }
  button.disabled = true;
  say("Activation en cours…");
  try {
    const permission = await Notification.requestPermission();
    if (permission !== "granted") {
      say("Les notifications ont été refusées dans ce navigateur.");
      return;
    }
    const registration = await navigator.serviceWorker.register("/sw.js", { scope: "/" });
    await navigator.serviceWorker.ready;
    let subscription = await registration.pushManager.getSubscription();
    const options = { userVisibleOnly: true, applicationServerKey: base64UrlToBytes(button.dataset.vapidKey) };
    // The push service may not answer the first time a profile subscribes: one more try.
    for (let attempt = 0; !subscription && attempt < 2; attempt++) {
      try {
        subscription = await withTimeout(registration.pushManager.subscribe(options), 10000);
      } catch (e) {
        if (attempt === 1) throw e;
      }
    }
    const response = await postSubscription(subscription);
    say(response.ok ? "Les notifications du navigateur sont activées." : "L'activation a échoué : réessayez.");
    if (response.ok) {
      localStorage.setItem("pe-push-posted", String(Date.now()));
      document.body.setAttribute("data-push-subscribed", "true");
    }
  } catch (e) {
    say("L'activation a échoué : " + e.message);
  } finally {
    button.disabled = false;
  }
}

// A subscription the server has not seen for 60 days is forgotten: post it again once a day.
async function refreshSubscription() {
  if (!csrfToken() || !("Notification" in window) || Notification.permission !== "granted") return;
  const last = Number(localStorage.getItem("pe-push-posted") || 0);
  if (Date.now() - last < 24 * 3600 * 1000) return;
  const subscription = await currentSubscription();
  if (subscription && (await postSubscription(subscription)).ok) {
    localStorage.setItem("pe-push-posted", String(Date.now()));
  }
}

// Signing out forgets this browser's subscription (on the server and in the browser): on a
// shared computer the next person must not receive the adviser's notifications.
function unsubscribeOnSignOut() {
  for (const form of document.querySelectorAll('form[action="/deconnexion"]')) {
    form.addEventListener("submit", async (event) => {
      if (form.dataset.unsubscribed) return;
      event.preventDefault();
      try {
        const subscription = await withTimeout(currentSubscription(), 3000);
        if (subscription) {
          const body = new URLSearchParams({ csrf: csrfToken(), endpoint: subscription.endpoint });
          await withTimeout(fetch("/notifications/desabonnement", { method: "POST", body, credentials: "same-origin" }), 3000);
          await withTimeout(subscription.unsubscribe(), 3000);
          localStorage.removeItem("pe-push-posted");
        }
      } catch (e) {
        console.warn("unsubscribing at sign-out failed", e);
      }
      form.dataset.unsubscribed = "true";
      form.submit();
    });
  }
}

document.addEventListener("DOMContentLoaded", () => {
  followLive();
  unsubscribeOnSignOut();
  refreshSubscription().catch((e) => console.warn("refreshing the push subscription failed", e));
  const button = document.getElementById("enable-push");
  if (button) {
    button.hidden = false;
    button.addEventListener("click", () => enableNotifications(button));
  }
});
