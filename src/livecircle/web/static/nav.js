/* The top bar of every signed-in page (base.html): the inbox's unread count. */
fetch("/api/v1/me/inbox?limit=1", { credentials: "same-origin" })
  .then((r) => (r.ok ? r.json() : null))
  .then((inbox) => {
    const badge = document.getElementById("nav-inbox-unread");
    if (badge && inbox && inbox.unread) {
      badge.textContent = inbox.unread > 99 ? "99+" : String(inbox.unread);
      badge.classList.remove("hidden");
    }
  })
  .catch(() => {});
