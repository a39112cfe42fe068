/* livecircle room page: the live tools beside the chat (polls and questionnaires, Q&A,
 * lotteries, the co-host queue, the room's communities, the follow button and first-visit guide). Each tool is its own module exporting mount(ctx) that
 * returns {handlers: {event_type: fn}, reload: fn}; room.js owns the socket and hands every
 * room event whose type it does not handle itself to the tool that declared it. */

import { mountPolls } from "./polls.js";
import { mountQa } from "./qa.js";
import { mountLottery } from "./lottery.js";
import { mountCohost } from "./cohost.js";
import { mountCommunities } from "./community_card.js";
import { mountGuide } from "./guide.js";

/** ctx: {roomId, signedIn, me: () => the signed-in user or null} */
export function mountTools(ctx) {
  const tools = [mountPolls(ctx), mountQa(ctx), mountLottery(ctx), mountCohost(ctx), mountCommunities(ctx), mountGuide(ctx)];
  const handlers = {};
  tools.forEach((tool) => Object.assign(handlers, tool.handlers || {}));
  return {
    handle(event) {
      const handler = handlers[event.type];
      if (handler) { handler(event); }
    },
    reload() { tools.forEach((tool) => tool.reload && tool.reload()); }
  };
}
