// The steps of mqtt_page.html. Each wait is bounded, so the page always writes a result.
'use strict';

const kStepTimeoutMs = 8000;
const resultNode = document.getElementById('result');
let finished = false;

function finish(result) {
  if (finished) return;
  finished = true;
  resultNode.textContent = JSON.stringify(result);
}

// Resolves with the next message on `topic`; rejects after kStepTimeoutMs. Create it before
// the publish that causes the message, and catch() it right away: if that publish fails, the
// publish's error is the one reported.
function nextMessage(client, topic) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      client.removeListener('message', onMessage);
      reject(new Error('no message on ' + topic));
    }, kStepTimeoutMs);
    const onMessage = (t, payload, packet) => {
      if (t !== topic) return;
      clearTimeout(timer);
      client.removeListener('message', onMessage);
      resolve({payload: new TextDecoder().decode(payload), packet});
    };
    client.on('message', onMessage);
  });
}

// An MQTT 5 $DB request: the answer comes on `replyTopic` with our correlation data back.
async function dbRequest(client, topic, body, replyTopic, correlation) {
  const answer = nextMessage(client, replyTopic);
  answer.catch(() => {});
  await client.publishAsync(topic, JSON.stringify(body), {
    qos: 1,
    properties: {responseTopic: replyTopic, correlationData: new TextEncoder().encode(correlation)},
  });
  const {payload, packet} = await answer;
  const echoed = packet.properties && packet.properties.correlationData;
  const echoedText = echoed ? new TextDecoder().decode(echoed) : null;
  if (echoedText !== correlation) {
    throw new Error('correlation data ' + JSON.stringify(echoedText) + ' for ' + correlation);
  }
  return JSON.parse(payload);
}

async function run() {
  const port = new URLSearchParams(location.search).get('port');
  if (!port) throw new Error('no ?port= in the page URL');
  const clientId = 'chromium-' + Math.random().toString(16).slice(2, 10);
  const client = await mqtt.connectAsync('ws://127.0.0.1:' + port + '/mqtt', {
    protocolVersion: 5,
    clientId,
    clean: true,
    reconnectPeriod: 0,  // a failure is the result, not a reason to retry
    connectTimeout: kStepTimeoutMs,
  });
  try {
    const echoTopic = 'browser/' + clientId + '/echo';
    await client.subscribeAsync(echoTopic, {qos: 1});
    const echoed = nextMessage(client, echoTopic);
    echoed.catch(() => {});
    await client.publishAsync(echoTopic, 'hello from chromium', {qos: 1});
    const echo = (await echoed).payload;

    const replyTopic = 'browser/' + clientId + '/replies';
    await client.subscribeAsync(replyTopic, {qos: 1});
    const created = await dbRequest(client, '$DB/notes/create',
                                    {title: 'written by chromium', n: 16}, replyTopic, 'create-1');
    if (created.status !== 'ok') throw new Error('create: ' + JSON.stringify(created));
    const read = await dbRequest(client, '$DB/notes/' + created.data.id, {}, replyTopic, 'read-1');
    if (read.status !== 'ok') throw new Error('read: ' + JSON.stringify(read));
    return {ok: true, echo, created_id: created.data.id, read: read.data,
            user_agent: navigator.userAgent};
  } finally {
    await client.endAsync();
  }
}

run().then(finish, (e) => finish({ok: false, error: String(e && e.message || e)}));
