// The advisers' web app works without this script. It adds three things only:
// - live updates: a page that shows plans follows the server's event stream (`data-live-stream` on
//   <body>) and, when one of its plans changes, fetches itself again and swaps the regions marked
//   `data-live` — except a region where the adviser is typing (focus, or a field they changed);
// - the browser notifications button of /notifications (service worker + Web Push subscription);
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

async function enableNotifications(button) {
  const status = document.getElementById("push-status");
  const say = (text) => {
    if (status) status.textContent = text;
  };
  if (!("serviceWorker" in navigator) || !("PushManager" in window)) {
    say("Ce navigateur ne permet pas les notifications.");
    return;
  }
  try {
    const permission = await Notification.requestPermission();
    if (permission !== "granted") {
      say("Les notifications ont été refusées dans ce navigateur.");
      return;
    }
    const registration = await navigator.serviceWorker.register("/sw.js", { scope: "/" });
    await navigator.serviceWorker.ready;
    const key = button.dataset.vapidKey;
    let subscription = await registration.pushManager.getSubscription();
    if (!subscription) {
      subscription = await registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: base64UrlToBytes(key) });
    }
    const body = new URLSearchParams({ csrf: button.dataset.csrf, subscription: JSON.stringify(subscription.toJSON()) });
    const response = await fetch("/notifications/abonnement", { method: "POST", body, credentials: "same-origin" });
    say(response.ok ? "Les notifications du navigateur sont activées." : "L'activation a échoué : réessayez.");
    if (response.ok) document.body.setAttribute("data-push-subscribed", "true");
  } catch (e) {
    say("L'activation a échoué : " + e.message);
  }
}

document.addEventListener("DOMContentLoaded", () => {
  followLive();
  const button = document.getElementById("enable-push");
  if (button) {
    button.hidden = false;
    button.addEventListener("click", () => enableNotifications(button));
  }
});
