/**
 * An Auth0 Event Stream Action, as written for Auth0: it runs unchanged in Switchyard.
 * @param {Event} event - Details about the incoming event.
 * @param {EventStreamAPI} api - Methods and utilities to define event stream processing.
 */
exports.onExecuteEventStream = async (event, api) => {
  const user = event.message.data.object;
  const seen = Number(api.cache.get("signups")?.value ?? "0") + 1;
  api.cache.set("signups", String(seen), { ttl: 24 * 60 * 60 * 1000 });
  console.log(`${event.secrets.GREETING}, ${user.email ?? user.user_id}! (signup #${seen} today)`);
};
