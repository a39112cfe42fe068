/* A community's discussion page (community_discussion.html; page data in #cd-config). */
import { mountDiscussion } from "/static/community.js";

mountDiscussion();
