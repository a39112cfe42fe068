/* The community review queue in the console (console_community_queue.html; data in #cq-config). */
import { mountQueue } from "/static/community.js";

mountQueue();
