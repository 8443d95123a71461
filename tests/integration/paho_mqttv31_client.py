#!/usr/bin/python3
"""An MQTT 3.1 client for the integration tests (run by mqtt31_test.cc): Paho Python with
protocol=MQTTv31 connects, subscribes to TOPIC at QoS 1, publishes one QoS 1 message to it
and waits for it to come back. It prints one line per step, which the test asserts on:
  CONNACK rc=<rc> session_present=<0|1>
  SUBACK granted=<qos>
  PUBACK mid=<mid>
  MESSAGE topic=<topic> qos=<qos> payload=<payload>
and exits 0 once both the PUBACK and the message arrived, 1 on a timeout or error.

Written for paho-mqtt 1.6 (Debian 12's python3-paho-mqtt): the callbacks have the 1.x
signatures, which paho-mqtt 2.x only offers with CallbackAPIVersion.VERSION1.
Usage: paho_mqttv31_client.py HOST PORT CLIENT_ID TOPIC PAYLOAD [TIMEOUT_S]
(TIMEOUT_S, default 10: how long to wait for the message; the ACL tests expect none.)
"""
import sys
import threading

import paho.mqtt.client as mqtt

TIMEOUT_S = 10


def main() -> int:
    host, port, client_id, topic, payload = sys.argv[1:6]
    timeout_s = float(sys.argv[6]) if len(sys.argv) > 6 else TIMEOUT_S
    finished = threading.Event()  # message and PUBACK both arrived, or something failed
    received = threading.Event()
    acked = threading.Event()

    def on_connect(client, userdata, flags, rc):
        print(f"CONNACK rc={rc} session_present={flags.get('session present', 0)}", flush=True)
        if rc != 0:
            finished.set()
            return
        client.subscribe(topic, qos=1)

    def on_subscribe(client, userdata, mid, granted_qos):
        print(f"SUBACK granted={','.join(str(q) for q in granted_qos)}", flush=True)
        client.publish(topic, payload, qos=1)

    def on_publish(client, userdata, mid):
        print(f"PUBACK mid={mid}", flush=True)
        acked.set()
        if received.is_set():
            finished.set()

    def on_message(client, userdata, msg):
        print(f"MESSAGE topic={msg.topic} qos={msg.qos} payload={msg.payload.decode()}",
              flush=True)
        received.set()
        if acked.is_set():
            finished.set()

    def on_disconnect(client, userdata, rc):
        if not finished.is_set():
            print(f"DISCONNECTED rc={rc}", flush=True)
            finished.set()

    client = mqtt.Client(client_id=client_id, clean_session=True, protocol=mqtt.MQTTv31)
    client.on_connect = on_connect
    client.on_subscribe = on_subscribe
    client.on_publish = on_publish
    client.on_message = on_message
    client.on_disconnect = on_disconnect
    client.connect(host, int(port), keepalive=30)
    client.loop_start()
    if not finished.wait(timeout_s):
        print("TIMEOUT", flush=True)
    client.disconnect()
    client.loop_stop()
    return 0 if received.is_set() and acked.is_set() else 1


if __name__ == "__main__":
    sys.exit(main())
