// Auth0's own example Event Stream Action (from its docs), unchanged.
/**
* Handler to be executed while processing events in an Event Stream.
* @param {Event} event - Details about the incoming event.
* @param {EventStreamAPI} api - Methods and utilities to define event stream processing.
*/
exports.onExecuteEventStream = async (event, api) => {
const message = event.message;
try {
await fetch(event.secrets.URL, {
method: 'POST',
headers: {
'X-API-Key': event.secrets.API_KEY,
},
body: JSON.stringify(message),
});
} catch (err) {
throw new Error('External service failure');
}
return;
};
