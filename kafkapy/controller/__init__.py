"""The ZooKeeper-era cluster controller (Kafka 2.8): election through `/controller` and
`/controller_epoch`, one event queue, partition/replica state machines, leader elections,
topic deletion, reassignment, and the LeaderAndIsr/UpdateMetadata/StopReplica channels.

controller.py               KafkaController (the event processor and its public API)
event_manager.py, events.py the single queue and Kafka's event nouns
context.py                  ControllerContext (the in-memory cluster view)
election.py                 pure leader-election rules
partition_state_machine.py  PartitionStateMachine;  replica_state_machine.py  ReplicaStateMachine
topic_deletion.py           TopicDeletionManager
channel_manager.py          request batching, wire encoding, per-broker senders
zk_verbs.py, zk_adapter.py  the ZooKeeper verbs the controller uses, over kafkapy.zk
"""
