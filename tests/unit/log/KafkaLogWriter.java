import java.io.File;
import java.nio.ByteBuffer;
import java.util.*;
import kafka.log.*;
import kafka.utils.KafkaScheduler;
import kafka.server.BrokerTopicStats;
import kafka.server.LogDirFailureChannel;
import org.apache.kafka.common.record.*;
import org.apache.kafka.common.utils.Time;

/** Writes a partition log with Kafka's own Log class: args = dir, batches, segmentBytes, compression(s). */
public class KafkaLogWriter {
    public static void main(String[] args) throws Exception {
        File dir = new File(args[0]);
        int batches = Integer.parseInt(args[1]);
        Properties props = new Properties();
        props.put("segment.bytes", args[2]);
        props.put("index.interval.bytes", "300");
        LogConfig config = LogConfig.apply(props, scala.collection.immutable.Set$.MODULE$.empty());
        KafkaScheduler scheduler = new KafkaScheduler(1, "kafka-writer-", true);
        scheduler.startup();
        Log log = Log$.MODULE$.apply(dir, config, 0L, 0L, scheduler, new BrokerTopicStats(), Time.SYSTEM,
                600000, 600000, new LogDirFailureChannel(1), true, false);
        CompressionType[] codecs = {CompressionType.NONE, CompressionType.GZIP, CompressionType.SNAPPY,
                                    CompressionType.LZ4, CompressionType.ZSTD};
        for (int i = 0; i < batches; i++) {
            int n = 1 + i % 4;
            SimpleRecord[] recs = new SimpleRecord[n];
            for (int j = 0; j < n; j++) {
                recs[j] = new SimpleRecord(1600000000000L + i * 10 + j, ("k" + j).getBytes(), ("value-" + i + "-" + j).getBytes());
            }
            MemoryRecords records = MemoryRecords.withRecords(codecs[i % 5], recs);
            log.appendAsLeader(records, i / 20, AppendOrigin.Client$.MODULE$, kafka.api.ApiVersion$.MODULE$.latestVersion());
        }
        log.flush();
        log.close();
        scheduler.shutdown();
    }
}
