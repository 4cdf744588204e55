import Daemon
import Testing

@Suite("Daemon metrics")
struct DaemonMetricsTests {
    @Test func theDaemonFamiliesAreRegistered() {
        let metrics = DaemonMetrics()
        metrics.setBreaker(.halfOpen, gateway: "aliyun")
        metrics.countReceipt(.duplicate, gateway: "wechat")
        metrics.sendSeconds.observe(.milliseconds(40), labels: ["aliyun"])
        let text = metrics.render()
        for family in [
            "policypush_messages gauge", "policypush_send_seconds histogram",
            "policypush_throttle_wait_seconds_total counter", "policypush_breaker_state gauge",
            "policypush_receipts_total counter", "policypush_queue_depth gauge", "policypush_campaigns gauge",
        ] {
            #expect(text.contains("# TYPE \(family)\n"))
        }
        #expect(text.contains("policypush_breaker_state{gateway=\"aliyun\"} 1\n"))
        #expect(text.contains("policypush_receipts_total{gateway=\"wechat\",outcome=\"duplicate\"} 1\n"))
        #expect(text.contains("policypush_send_seconds_bucket{gateway=\"aliyun\",le=\"0.05\"} 1\n"))
        #expect(text.contains("policypush_queue_depth 0\n"))
    }
}
