import Ops
import Testing

@Suite("Ops: Metrics")
struct OpsMetricsTests {
    @Test func rendersTheExpositionFormatExactly() {
        let metrics = Metrics()
        let receipts = metrics.counter("pp_receipts_total", help: "Receipts received.", labels: ["gateway", "outcome"])
        let depth = metrics.gauge("pp_queue_depth", help: "Queued messages.")
        let send = metrics.histogram(
            "pp_send_seconds", help: "Send time.\nIn seconds.", labels: ["gateway"], buckets: [1, 0.5])
        receipts.increment(labels: ["tencent", "failed"])
        receipts.increment(by: 2, labels: ["aliyun", "delivered"])
        receipts.increment(by: -5, labels: ["aliyun", "delivered"])  // ignored: counters never go down
        depth.set(12.5)
        send.observe(0.25, labels: ["aliyun"])
        send.observe(0.5, labels: ["aliyun"])
        send.observe(3, labels: ["aliyun"])

        #expect(
            metrics.render() == """
                # HELP pp_queue_depth Queued messages.
                # TYPE pp_queue_depth gauge
                pp_queue_depth 12.5
                # HELP pp_receipts_total Receipts received.
                # TYPE pp_receipts_total counter
                pp_receipts_total{gateway="aliyun",outcome="delivered"} 2
                pp_receipts_total{gateway="tencent",outcome="failed"} 1
                # HELP pp_send_seconds Send time.\\nIn seconds.
                # TYPE pp_send_seconds histogram
                pp_send_seconds_bucket{gateway="aliyun",le="0.5"} 2
                pp_send_seconds_bucket{gateway="aliyun",le="1"} 2
                pp_send_seconds_bucket{gateway="aliyun",le="+Inf"} 3
                pp_send_seconds_sum{gateway="aliyun"} 3.75
                pp_send_seconds_count{gateway="aliyun"} 3

                """)
        #expect(Metrics.contentType == "text/plain; version=0.0.4; charset=utf-8")
    }

    @Test func histogramBucketsAreCumulativeAndBoundsInclusive() {
        let histogram = Metrics().histogram("h", help: "h", buckets: [0.1, 1, 10])
        for value in [0.05, 0.1, 0.2, 1, 5, 10, 11, 100] { histogram.observe(value) }
        histogram.observe(.milliseconds(250))
        let snapshot = histogram.snapshot()
        #expect(snapshot.cumulative == [2, 5, 7, 9])
        #expect(snapshot.count == 9)
        #expect(abs(snapshot.sum - 127.6) < 1e-9)
        #expect(histogram.buckets == [0.1, 1, 10])
    }

    @Test func labelValuesAreEscaped() {
        let metrics = Metrics()
        metrics.gauge("g", help: "Back\\slash", labels: ["name"]).set(1, labels: ["a\\b \"c\"\nd"])
        #expect(
            metrics.render() == """
                # HELP g Back\\\\slash
                # TYPE g gauge
                g{name="a\\\\b \\"c\\"\\nd"} 1

                """)
    }

    @Test func gaugesReplaceTheirSeriesFromASnapshot() {
        let metrics = Metrics()
        let campaigns = metrics.gauge("c", help: "c", labels: ["state"])
        campaigns.set(3, labels: ["running"])
        campaigns.add(-1, labels: ["running"])
        #expect(campaigns.value(labels: ["running"]) == 2)
        campaigns.replaceAll([["done"]: 4])
        #expect(metrics.render() == "# HELP c c\n# TYPE c gauge\nc{state=\"done\"} 4\n")
    }

    @Test func registeringTwiceReturnsTheSameFamily() {
        let metrics = Metrics()
        let first = metrics.counter("x_total", help: "x")
        let second = metrics.counter("x_total", help: "x")
        first.increment()
        #expect(second.value() == 1)
    }

    @Test func concurrentIncrementsAllCount() async {
        let metrics = Metrics()
        let counter = metrics.counter("n_total", help: "n", labels: ["task"])
        let histogram = metrics.histogram("d", help: "d")
        await withTaskGroup(of: Void.self) { group in
            for task in 0..<8 {
                group.addTask {
                    for _ in 0..<1000 {
                        counter.increment(labels: ["shared"])
                        counter.increment(labels: ["t\(task)"])
                        histogram.observe(0.01)
                    }
                }
            }
        }
        #expect(counter.value(labels: ["shared"]) == 8000)
        #expect((0..<8).allSatisfy { counter.value(labels: ["t\($0)"]) == 1000 })
        #expect(histogram.snapshot().count == 8000)
    }
}
