/* livecircle room page: polls (mounted by tools.js; not built yet). */

export function mountPolls(ctx) {
  return { handlers: {}, reload() {} };
}
