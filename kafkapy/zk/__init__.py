"""Everything kafkapy keeps in ZooKeeper.

client.py    ZkClient: the kazoo bridge (the only module importing kazoo)
znodes.py    one class per znode: path/encode/decode with Kafka's JSON
kafka_zk.py  KafkaZkClient: broker and controller verbs
admin_zk.py  AdminZkClient and Kafka's replica assignment algorithm
errors.py    the exceptions raised by this package
"""
