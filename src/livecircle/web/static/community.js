/* livecircle community page: the discussion (posts, comments, likes, reports, the pinned
 * announcement, today's topic with its 打卡 check-in, activities with sign-up) and the
 * moderation queue page. Everything goes through the JSON API (/api/v1/communities/{id}/posts,
 * /api/v1/posts/{id}/..., /checkin, /activities); the texts come from the page's JSON config
 * (#cd-config, #cq-config) so both locales read right. */

import { el, format, getJson, postJson, sendJson } from "./kit.js";

const MESSAGE_MS = 4000;
const PAGE = 20;

function messenger(node, text) {
  let timer = null;
  /* A known code's text in the page's language; else the server's detail, else a generic line. */
  return function say(key, values, isError, fallback) {
    if (!node) { return; }
    node.textContent = text[key] ? format(text[key], values) : (fallback || text.error);
    node.classList.remove("hidden");
    node.classList.toggle("error", !!isError);
    clearTimeout(timer);
    timer = setTimeout(() => node.classList.add("hidden"), MESSAGE_MS);
  };
}

function when(iso) {
  const at = new Date(iso);
  return Number.isNaN(at.getTime()) ? "" : at.toLocaleString();
}

/** Mount the discussion of the page's community (community_discussion.html). */
export function mountDiscussion() {
  const $ = (id) => document.getElementById(id);
  const configNode = $("cd-config");
  if (!configNode) { return null; }
  const config = JSON.parse(configNode.textContent);
  const text = config.messages;
  const t = (key, values) => format(text[key] || text.error, values);
  const say = messenger($("cd-message"), text);
  const api = "/api/v1/communities/" + config.communityId;
  const state = { cursor: null, posts: new Map() };
  window.lcDiscussion = state;  // for tests and debugging

  function failed(answer) {
    const body = answer.body || {};
    say(body.code || "error", body, true, body.detail);
  }

  /* ---------- the feed ---------- */

  function loadFeed(reset) {
    const cursor = reset ? null : state.cursor;
    const url = api + "/posts?limit=" + PAGE + (cursor ? "&cursor=" + cursor : "");
    return getJson(url).then((page) => {
      if (!page) { return; }
      if (reset) {
        state.posts.clear();
        $("cd-feed").replaceChildren();
        $("cd-pinned").replaceChildren();
        $("cd-pinned").classList.add("hidden");
      }
      page.items.forEach((post) => {
        state.posts.set(post.id, post);
        if (post.pinned) {
          $("cd-pinned").replaceChildren(buildPost(post));
          $("cd-pinned").classList.remove("hidden");
        } else {
          $("cd-feed").appendChild(buildPost(post));
        }
      });
      state.cursor = page.next_cursor;
      $("cd-more").classList.toggle("hidden", !page.next_cursor);
      $("cd-feed-empty").classList.toggle("hidden", state.posts.size > 0);
    });
  }

  function buildPost(post) {
    const node = el("li", "cd-post");
    node.dataset.id = String(post.id);
    const meta = el("p", "cd-post-meta");
    if (post.pinned) { meta.appendChild(el("span", "badge small", "📌 " + t("pinned"))); }
    if (post.kind !== "post") { meta.appendChild(el("span", "badge small", t(post.kind))); }
    if (post.state !== "visible") { meta.appendChild(el("span", "cd-state", t("state_" + post.state))); }
    meta.appendChild(el("span", "cd-author", " " + post.author_name + " · " + when(post.created_at)));
    node.appendChild(meta);
    if (post.title) { node.appendChild(el("h4", "cd-post-title", post.title)); }
    node.appendChild(el("p", "cd-body", post.body));
    const actions = el("div", "cd-actions");
    if (post.state === "visible") {
      actions.appendChild(button("like", (post.liked ? "♥ " : "♡ ") + post.like_count, post.liked ? "cd-liked" : ""));
      actions.appendChild(button("comments", t("comments", { count: post.comment_count })));
      if (post.author_id !== config.me) { actions.appendChild(button("report", t("report"))); }
    }
    if (config.admin && post.kind === "announcement" && post.state === "visible") {
      actions.appendChild(button(post.pinned ? "unpin" : "pin", t(post.pinned ? "unpin" : "pin")));
    }
    if (post.author_id === config.me || config.admin) { actions.appendChild(button("delete", t("delete"))); }
    node.appendChild(actions);
    node.appendChild(el("div", "cd-comments hidden"));
    return node;
  }

  function button(action, label, extra) {
    const node = el("button", "btn small ghost " + (extra || ""), label);
    node.type = "button";
    node.dataset.action = action;
    return node;
  }

  function repaint(post) {
    state.posts.set(post.id, post);
    document.querySelectorAll('.cd-post[data-id="' + post.id + '"]').forEach((node) => {
      const open = !node.querySelector(".cd-comments").classList.contains("hidden");
      const fresh = buildPost(post);
      node.replaceWith(fresh);
      if (open) { toggleComments(fresh, post.id); }
    });
  }

  /* ---------- post actions ---------- */

  function onPostAction(event) {
    const target = event.target.closest("button[data-action]");
    const node = target && target.closest(".cd-post");
    if (!node) { return; }
    const id = Number(node.dataset.id);
    const post = state.posts.get(id);
    const action = target.dataset.action;
    if (action === "like") { like(post); }
    else if (action === "comments") { toggleComments(node, id); }
    else if (action === "report") { report("/api/v1/posts/" + id + "/reports"); }
    else if (action === "delete") { remove("/api/v1/posts/" + id); }
    else if (action === "pin" || action === "unpin") {
      sendJson(action === "pin" ? "PUT" : "DELETE", "/api/v1/posts/" + id + "/pin")
        .then((answer) => (answer.ok ? loadFeed(true) : failed(answer)));
    }
  }

  function like(post) {
    sendJson(post.liked ? "DELETE" : "PUT", "/api/v1/posts/" + post.id + "/like").then((answer) => {
      if (!answer.ok) { failed(answer); return; }
      repaint(Object.assign({}, post, { liked: answer.body.liked, like_count: answer.body.like_count }));
    });
  }

  function report(url) {
    const reason = window.prompt(t("report_reason"), "");
    if (reason === null) { return; }
    postJson(url, { reason: reason.slice(0, 200) }).then((answer) => {
      if (answer.ok) { say("reported"); } else { failed(answer); }
    });
  }

  function remove(url) {
    sendJson("DELETE", url).then((answer) => (answer.ok ? loadFeed(true) : failed(answer)));
  }

  /* ---------- comments ---------- */

  function toggleComments(node, postId) {
    const box = node.querySelector(".cd-comments");
    if (!box.classList.contains("hidden")) { box.classList.add("hidden"); return; }
    box.classList.remove("hidden");
    loadComments(box, postId);
  }

  function loadComments(box, postId) {
    getJson("/api/v1/posts/" + postId + "/comments?limit=100").then((page) => {
      if (!page) { return; }
      const list = el("ul", "plain-list");
      page.items.forEach((comment) => list.appendChild(buildComment(comment)));
      const form = el("form", "row cd-comment-form");
      const input = el("input");
      input.name = "body";
      input.maxLength = 1000;
      input.required = true;
      input.placeholder = t("reply");
      const send = el("button", "btn small", t("send"));
      send.type = "submit";
      form.append(input, send);
      form.addEventListener("submit", (event) => {
        event.preventDefault();
        postJson("/api/v1/posts/" + postId + "/comments", { body: input.value }).then((answer) => {
          if (!answer.ok) { failed(answer); return; }
          say(answer.status === 202 ? "held" : "posted");
          refreshPost(postId);
        });
      });
      box.replaceChildren(list, form);
    });
  }

  function buildComment(comment) {
    const node = el("li", "cd-comment");
    node.dataset.id = String(comment.id);
    const meta = el("span", "cd-comment-meta", comment.author_name + " · " + when(comment.created_at) + " ");
    node.append(meta, el("span", "cd-comment-body", comment.body));
    if (comment.state !== "visible") { node.appendChild(el("span", "cd-state", " " + t("state_" + comment.state))); }
    if (comment.state === "visible" && comment.author_id !== config.me) {
      const flag = button("report-comment", t("report"));
      flag.addEventListener("click", () => report("/api/v1/comments/" + comment.id + "/reports"));
      node.appendChild(flag);
    }
    if (comment.author_id === config.me || config.admin) {
      const drop = button("delete-comment", t("delete"));
      drop.addEventListener("click", () => sendJson("DELETE", "/api/v1/comments/" + comment.id)
        .then((answer) => (answer.ok ? refreshPost(comment.post_id) : failed(answer))));
      node.appendChild(drop);
    }
    return node;
  }

  function refreshPost(postId) {
    return getJson("/api/v1/posts/" + postId).then((post) => {
      if (!post) { return; }
      repaint(post);
      document.querySelectorAll('.cd-post[data-id="' + postId + '"]').forEach((node) => {
        const box = node.querySelector(".cd-comments");
        box.classList.remove("hidden");
        loadComments(box, postId);
      });
    });
  }

  /* ---------- composer ---------- */

  function onCompose(event) {
    event.preventDefault();
    const form = event.target;
    const kind = form.elements.kind ? form.elements.kind.value : "post";
    const pinned = form.elements.pinned ? form.elements.pinned.checked : false;
    const body = { kind: kind, title: form.elements.title.value, body: form.elements.body.value, pinned: pinned };
    postJson(api + "/posts", body).then((answer) => {
      if (!answer.ok) { failed(answer); return; }
      say(answer.status === 202 ? "held" : "posted");
      form.reset();
      loadFeed(true);
      if (kind === "daily_topic") { loadTopic(); }
    });
  }

  /* ---------- today's topic and 打卡 ---------- */

  function loadTopic() {
    return getJson(api + "/checkin").then((status) => {
      if (!status) { return; }
      const body = $("cd-topic-body");
      if (status.topic) {
        const title = el("strong", "", status.topic.title || "");
        body.replaceChildren(title, el("p", "cd-body", status.topic.body));
      }
      $("cd-checkin-form").classList.toggle("hidden", !status.topic || status.checked_in);
      $("cd-streak").textContent = (status.checked_in ? t("checked_in_already") + " " : "") +
        (status.streak ? t("streak", { days: status.streak }) : "");
    });
  }

  function onCheckIn(event) {
    event.preventDefault();
    const note = $("cd-checkin-text").value.trim();
    postJson(api + "/checkin", note ? { text: note } : {}).then((answer) => {
      if (!answer.ok) { failed(answer); return; }
      say(answer.status === 201 ? "checked_in" : "checked_in_already", answer.body);
      $("cd-checkin-text").value = "";
      loadTopic();
      if (note) { loadFeed(true); }
    });
  }

  /* ---------- activities ---------- */

  function loadActivities() {
    return getJson(api + "/activities").then((rows) => {
      if (!rows) { return; }
      const list = $("cd-activity-list");
      list.replaceChildren(...rows.map(buildActivity));
      $("cd-activities-empty").classList.toggle("hidden", rows.length > 0);
    });
  }

  function buildActivity(activity) {
    const node = el("li", "cd-activity");
    node.dataset.id = String(activity.id);
    node.appendChild(el("strong", "", activity.title));
    const facts = [when(activity.starts_at) + " – " + when(activity.ends_at)];
    if (activity.location) { facts.push(activity.location); }
    facts.push(activity.seats_left === null ? t("signups", { count: activity.signups })
      : t("seats_left", { seats: activity.seats_left }));
    node.appendChild(el("p", "small muted", facts.join(" · ")));
    if (activity.description) { node.appendChild(el("p", "small cd-body", activity.description)); }
    if (activity.link) {
      const link = el("a", "small", activity.link);
      link.href = activity.link;
      link.rel = "noopener";
      node.appendChild(link);
    }
    if (activity.state === "cancelled") {
      node.appendChild(el("span", "cd-state", t("cancelled")));
    } else if (activity.signup_open) {
      const action = button(activity.signed_up ? "cancel" : "signup",
        t(activity.signed_up ? "cancel_sign_up" : "sign_up"));
      action.addEventListener("click", () => signUp(activity));
      node.appendChild(action);
    }
    return node;
  }

  function signUp(activity) {
    const method = activity.signed_up ? "DELETE" : "PUT";
    sendJson(method, "/api/v1/activities/" + activity.id + "/signup").then((answer) => {
      if (!answer.ok) { failed(answer); loadActivities(); return; }
      if (answer.body.signed_up) { say("signed_up"); }
      loadActivities();
    });
  }

  function onSchedule(event) {
    event.preventDefault();
    const form = event.target.elements;
    const iso = (value) => (value ? new Date(value).toISOString() : null);
    const body = {
      title: form.title.value,
      description: form.description.value,
      starts_at: iso(form.starts_at.value),
      ends_at: iso(form.ends_at.value),
      capacity: form.capacity.value ? Number(form.capacity.value) : null,
      location: form.location.value,
      link: form.link.value
    };
    postJson(api + "/activities", body).then((answer) => {
      if (!answer.ok) { failed(answer); return; }
      say("scheduled");
      event.target.reset();
      loadActivities();
    });
  }

  $("cd-feed").addEventListener("click", onPostAction);
  $("cd-pinned").addEventListener("click", onPostAction);
  $("cd-more").addEventListener("click", () => loadFeed(false));
  $("cd-composer").addEventListener("submit", onCompose);
  $("cd-checkin-form").addEventListener("submit", onCheckIn);
  if ($("cd-activity-form")) { $("cd-activity-form").addEventListener("submit", onSchedule); }
  state.ready = Promise.all([loadFeed(true), loadTopic(), loadActivities()]);
  return state;
}

/** Mount the approve / remove buttons of the moderation queue page. */
export function mountQueue() {
  const root = document.getElementById("cq");
  const configNode = document.getElementById("cq-config");
  if (!root || !configNode) { return; }
  const text = JSON.parse(configNode.textContent).messages;
  const say = messenger(document.getElementById("cq-message"), text);
  root.addEventListener("click", (event) => {
    const target = event.target.closest("button[data-decision]");
    const row = target && target.closest(".cq-item");
    if (!row) { return; }
    const url = "/api/v1/" + (row.dataset.kind === "post" ? "posts" : "comments") + "/" + row.dataset.id + "/review";
    const decision = target.dataset.decision;
    row.querySelectorAll("button").forEach((b) => { b.disabled = true; });
    postJson(url, { decision: decision }).then((answer) => {
      if (!answer.ok) {
        say("error", null, true, answer.body && answer.body.detail);
        row.querySelectorAll("button").forEach((b) => { b.disabled = false; });
        return;
      }
      say(decision === "approve" ? "approved" : "removed");
      row.remove();
      const left = root.querySelectorAll(".cq-item").length;
      document.getElementById("cq-empty").classList.toggle("hidden", left > 0);
    });
  });
}
