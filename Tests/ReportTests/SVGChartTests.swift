import Foundation
import Testing

@testable import Report

/// Attribute values of every `<rect class="bar" …>`, in drawing order.
private func bars(_ svg: String, _ attribute: String) -> [Double] {
    svg.components(separatedBy: "<rect class=\"bar\"").dropFirst().compactMap { rest in
        guard let range = rest.range(of: " \(attribute)=\"") else { return nil }
        return Double(rest[range.upperBound...].prefix { $0 != "\"" })
    }
}

@Suite struct SVGChartTests {
    private func bar(_ label: String, _ value: Double) -> BarChart.Bar {
        BarChart.Bar(label: label, value: value, caption: Figure.tspan("x[\(label)]", Int(value)))
    }

    @Test func barsAreProportionalSortedAndNumbered() {
        let chart = BarChart(title: "t", bars: [bar("a", 25), bar("b", 100), bar("c", 50)], id: "c1")
        let svg = chart.svg()
        let widths = bars(svg, "width")
        #expect(widths == [BarChart.plotWidth, BarChart.plotWidth / 2, BarChart.plotWidth / 4])
        #expect(bars(svg, "data-value") == [100, 50, 25])
        let figures = FigureMarkers.figures(in: svg)
        #expect(figures.map(\.path) == ["x[b]", "x[c]", "x[a]"])
        #expect(figures.map(\.text) == ["100", "50", "25"])
    }

    @Test func aFixedScaleKeepsShortBarsShort() {
        let chart = BarChart(title: "t", bars: [bar("a", 0.5)], scaleMax: 1, id: "c")
        #expect(bars(chart.svg(), "width") == [BarChart.plotWidth / 2])
    }

    @Test func zeroAndSingleValues() {
        let zeros = BarChart(title: "t", bars: [bar("a", 0), bar("b", 0)], id: "z").svg()
        #expect(bars(zeros, "width") == [0, 0])
        #expect(FigureMarkers.figures(in: zeros).map(\.text) == ["0", "0"])
        let one = BarChart(title: "t", bars: [bar("a", 7)], id: "o").svg()
        #expect(bars(one, "width") == [BarChart.plotWidth])
        #expect(BarChart(title: "t", bars: [], id: "e").svg() == "")
        let histogram = Histogram(
            title: "h", bins: [.init(label: "x", value: 0, caption: "0")], axisLabel: "s"
        ).svg()
        #expect(bars(histogram, "height") == [0])
        let series = TimeSeries(title: "t", labels: ["09:00"], series: [.init(name: "s", values: [0], paths: ["p"])])
        #expect(series.scaleTop == 1)
        #expect(!series.svg().contains("NaN"))
        let funnel = FunnelChart(title: "f", stages: [.init(label: "a", note: "a", value: 0, caption: "0")]).svg()
        #expect(bars(funnel, "width") == [0])
    }

    @Test func histogramHeightsAreProportionalWithCountsOnTop() {
        let bins = [4, 2, 1].enumerated().map { i, n in
            Histogram.Bin(label: "b\(i)", value: n, caption: Figure.tspan("h[#\(i)].count", n))
        }
        let chart = Histogram(title: "h", bins: bins, axisLabel: "秒")
        let heights = bars(chart.svg(), "height")
        #expect(heights.count == 3)
        #expect(abs(heights[0] - 2 * heights[1]) < 0.11 && abs(heights[1] - 2 * heights[2]) < 0.11)
        #expect(FigureMarkers.figures(in: chart.svg()).map(\.text) == ["4", "2", "1"])
    }

    @Test func funnelStagesAreProportionalToTheFirst() {
        let stages = [100, 80, 40].map { FunnelChart.Stage(label: "s", note: "n", value: $0, caption: "") }
        #expect(bars(FunnelChart(title: "f", stages: stages).svg(), "width") == [370, 296, 148])
        #expect(FunnelChart.plotWidth == 370)
    }

    @Test func timeSeriesScalesToANiceTopAndTagsEveryPoint() {
        let series = TimeSeries(
            title: "t", labels: ["a", "b", "c"],
            series: [
                .init(name: "发送", values: [130, 20, 0], paths: ["s0", "s1", "s2"]),
                .init(name: "送达", values: [120, 10, 0], paths: ["d0", "d1", "d2"]),
            ])
        #expect(series.scaleTop == 200)
        #expect(series.point(0, 200).y == TimeSeries.top)
        #expect(series.point(2, 0).y == TimeSeries.height - TimeSeries.bottom)
        let figures = FigureMarkers.figures(in: series.svg())
        #expect(figures.map(\.path) == ["s0", "s1", "s2", "d0", "d1", "d2"])
        #expect(series.svg().contains("stroke-dasharray=\"8 4\""))
    }

    @Test func labelsAreEscapedAndCut() {
        let svg = BarChart(
            title: "<t>", bars: [BarChart.Bar(label: "<script>x</script>", note: "a&b", value: 1, caption: "1")],
            id: "e"
        ).svg()
        #expect(!svg.contains("<script>"))
        #expect(svg.contains("&lt;script&gt;x&lt;/sc…"))
        #expect(svg.contains("a&amp;b"))
        #expect(svg.contains("aria-label=\"&lt;t&gt;\""))
    }

    @Test func hatchedBarsDefineTheirPattern() {
        let svg = BarChart(
            title: "t", bars: [BarChart.Bar(label: "a", value: 1, caption: "1", hatched: true)], id: "u"
        ).svg()
        #expect(svg.contains("<pattern id=\"u-hatch\""))
        #expect(svg.contains("fill=\"url(#u-hatch)\""))
    }
}

@Suite struct FigureTests {
    @Test func formatsNumbersAsTheReportPrintsThem() {
        #expect(Figure.integer(0) == "0")
        #expect(Figure.integer(999) == "999")
        #expect(Figure.integer(1000) == "1,000")
        #expect(Figure.integer(1_234_567) == "1,234,567")
        #expect(Figure.integer(-1234) == "-1,234")
        #expect(Figure.percent(875, of: 1000) == "87.5%")
        #expect(Figure.percent(1, of: 3) == "33.3%")
        #expect(Figure.percent(0, of: 0) == "—")
        #expect(Figure.decimal(2.04, places: 1) == "2.0")
        #expect(Figure.decimal(8.96, places: 1) == "9.0")
        #expect(Figure.decimal(0.05, places: 1) == "0.1")
        #expect(Figure.decimal(1234.5, places: 1) == "1,234.5")
    }

    @Test func readsPathsWithNamesAndIndexes() throws {
        let json = try JSONSerialization.jsonObject(
            with: Data(#"{"a":{"notReachedTotal":3},"list":[{"name":"x.y[1]","n":1},{"name":"z","n":2}]}"#.utf8))
        #expect(FigureMarkers.value(at: "a.notReachedTotal", in: json) as? Int == 3)
        #expect(FigureMarkers.value(at: "list[z].n", in: json) as? Int == 2)
        #expect(FigureMarkers.value(at: "list[#0].n", in: json) as? Int == 1)
        #expect(FigureMarkers.value(at: "list[#5].n", in: json) == nil)
        #expect(FigureMarkers.snake("notReachedTotal") == "not_reached_total")
        #expect(FigureMarkers.snake("p50Seconds") == "p50_seconds")
        // A run of capitals is one word, as JSONEncoder's .convertToSnakeCase writes it.
        #expect(FigureMarkers.snake("policyID") == "policy_id" && FigureMarkers.snake("idURLText") == "id_url_text")
        let effect = try JSONSerialization.jsonObject(
            with: Data(#"{"policies":[{"policy_id":"a","n":1},{"policy_id":"b","n":2}]}"#.utf8))
        #expect(FigureMarkers.value(at: "policies[policyID=b].n", in: effect, snakeCase: true) as? Int == 2)
        #expect(FigureMarkers.value(at: "policies[policyID=c].n", in: effect, snakeCase: true) == nil)
    }

    @Test func scaledFiguresCarryTheirScale() {
        let html =
            Figure.scaled("span", "d.estimate", 0.1318, scale: 100, places: 1, signed: true)
            + Figure.scaled("span", "d.lower", -0.0004, scale: 100, places: 1, signed: true)
            + Figure.scaled("span", "g.amountFen", 123_456_789, scale: 0.01, places: 2)
        let figures = FigureMarkers.figures(in: html)
        #expect(figures.map(\.text) == ["+13.2", "0.0", "1,234,567.89"])
        #expect(figures.map(\.scale) == [100, 100, 0.01])
        #expect(figures.map { FigureMarkers.number($0.text) } == [13.2, 0, 1_234_567.89])
    }
}

@Suite struct ReportLabelsTests {
    @Test func namesLatencyBucketsAndWidths() {
        #expect(ReportLabels.latency(from: 0, to: 5) == "≤5秒")
        #expect(ReportLabels.latency(from: 60, to: 120) == "≤2分钟")
        #expect(ReportLabels.latency(from: 1800, to: 3600) == "≤1小时")
        #expect(ReportLabels.latency(from: 3600, to: nil) == ">1小时")
        #expect(ReportLabels.duration(2.5) == "2.5 秒")
        #expect(ReportLabels.bucket(900) == "15 分钟")
        #expect(ReportLabels.bucket(86_400) == "1 天")
        #expect(CampaignReportPage.bucketLabel("2026-03-02T09:30:00+08:00", width: 300) == "09:30")
        #expect(CampaignReportPage.bucketLabel("2026-03-02T00:00:00+08:00", width: 86_400) == "03-02")
    }
}
