import Testing
@testable import Metrics

/// One parser case: input, and the families expected (names, types, samples) or nothing to check but count.
struct ParseCase: CustomTestStringConvertible, Sendable {
    var name: String
    var text: String
    var families: [MetricFamily]
    var testDescription: String { name }
}

@Suite struct PrometheusTextTests {
    static let cases: [ParseCase] = [
        ParseCase(name: "escapes in label values", text: #"m{a="x\\y",b="say \"hi\"",c="l1\nl2"} 1"# + "\n", families: [
            MetricFamily(name: "m", samples: [Sample(name: "m", labels: ["a": #"x\y"#, "b": #"say "hi""#, "c": "l1\nl2"], value: 1)]),
        ]),
        ParseCase(name: "label order does not matter, trailing comma and blanks", text: "m{ b = \"2\" , a=\"1\", } 3\nm{a=\"1\",b=\"2\"} 4\n", families: [
            MetricFamily(name: "m", samples: [
                Sample(name: "m", labels: ["a": "1", "b": "2"], value: 3), Sample(name: "m", labels: ["a": "1", "b": "2"], value: 4),
            ]),
        ]),
        ParseCase(name: "NaN, +Inf, -Inf and exponents", text: "a NaN\nb +Inf\nc -Inf\nd 1.5e-3\ne -0\n", families: [
            MetricFamily(name: "a", samples: [Sample(name: "a", value: .nan)]),
            MetricFamily(name: "b", samples: [Sample(name: "b", value: .infinity)]),
            MetricFamily(name: "c", samples: [Sample(name: "c", value: -.infinity)]),
            MetricFamily(name: "d", samples: [Sample(name: "d", value: 0.0015)]),
            MetricFamily(name: "e", samples: [Sample(name: "e", value: 0)]),
        ]),
        ParseCase(name: "timestamps, CRLF, comments and blank lines", text: "# a comment\n\n  \nm 1 1712345678901\r\nm{x=\"y\"} 2 -5\n# TYPEX not a type line\n", families: [
            MetricFamily(name: "m", samples: [
                Sample(name: "m", value: 1, timestampMs: 1_712_345_678_901), Sample(name: "m", labels: ["x": "y"], value: 2, timestampMs: -5),
            ]),
        ]),
        ParseCase(name: "histogram grouped by TYPE, _created dropped", text: """
            # HELP h A histogram\\nwith \\\\ escapes.
            # TYPE h histogram
            h_bucket{le="0.5"} 1
            h_bucket{le="+Inf"} 2
            h_sum 0.75
            h_count 2
            h_created 1.7e9
            """, families: [
            MetricFamily(name: "h", type: .histogram, help: "A histogram\nwith \\ escapes.", samples: [
                Sample(name: "h_bucket", labels: ["le": "0.5"], value: 1), Sample(name: "h_bucket", labels: ["le": "+Inf"], value: 2),
                Sample(name: "h_sum", value: 0.75), Sample(name: "h_count", value: 2),
            ]),
        ]),
        ParseCase(name: "summary grouped by TYPE", text: "# TYPE s summary\ns{quantile=\"0.9\"} 3\ns_sum 10\ns_count 4\n", families: [
            MetricFamily(name: "s", type: .summary, samples: [
                Sample(name: "s", labels: ["quantile": "0.9"], value: 3), Sample(name: "s_sum", value: 10), Sample(name: "s_count", value: 4),
            ]),
        ]),
        ParseCase(name: "OpenMetrics-style counter x with x_total and x_created", text: "# TYPE x counter\nx_total 5\nx_created 1.7e9\n", families: [
            MetricFamily(name: "x", type: .counter, samples: [Sample(name: "x_total", value: 5)]),
        ]),
        ParseCase(name: "prometheus_client counter x_total and its x_created gauge family", text: """
            # HELP x_total Requests.
            # TYPE x_total counter
            x_total 7
            # HELP x_created Requests.
            # TYPE x_created gauge
            x_created 1.7e9
            """, families: [
            MetricFamily(name: "x_total", type: .counter, help: "Requests.", samples: [Sample(name: "x_total", value: 7)]),
        ]),
        ParseCase(name: "untyped samples are never typed by suffix", text: "y_total 1\nz_bucket{le=\"1\"} 2\nz_sum 3\nw_created 4\n", families: [
            MetricFamily(name: "y_total", samples: [Sample(name: "y_total", value: 1)]),
            MetricFamily(name: "z_bucket", samples: [Sample(name: "z_bucket", labels: ["le": "1"], value: 2)]),
            MetricFamily(name: "z_sum", samples: [Sample(name: "z_sum", value: 3)]),
            MetricFamily(name: "w_created", samples: [Sample(name: "w_created", value: 4)]),
        ]),
        ParseCase(name: "a gauge's _sum sample is its own untyped family", text: "# TYPE g gauge\ng 1\ng_sum 2\n", families: [
            MetricFamily(name: "g", type: .gauge, samples: [Sample(name: "g", value: 1)]),
            MetricFamily(name: "g_sum", samples: [Sample(name: "g_sum", value: 2)]),
        ]),
        ParseCase(name: "colons in names, unknown type is untyped, no trailing newline", text: "# TYPE vllm:x unknown\nvllm:x{engine=\"0\"} 2", families: [
            MetricFamily(name: "vllm:x", samples: [Sample(name: "vllm:x", labels: ["engine": "0"], value: 2)]),
        ]),
        ParseCase(name: "empty label set and UTF-8 label value", text: "m{} 1\nm{l=\"ünï\"} 2\n", families: [
            MetricFamily(name: "m", samples: [Sample(name: "m", value: 1), Sample(name: "m", labels: ["l": "ünï"], value: 2)]),
        ]),
    ]

    @Test(arguments: cases)
    func parses(_ c: ParseCase) throws {
        let families = try PrometheusText.parse(c.text)
        #expect(families == c.families)
    }

    /// Malformed input: the error names the line.
    @Test(arguments: [
        ("m 1\nm{a=\"b} 2\n", 2, "unterminated label value"),
        ("m 1\n\nm{a=\"\\x\"} 2\n", 3, "invalid escape"),
        ("m{a=\"1\",a=\"2\"} 1\n", 1, "duplicate label a"),
        ("m{1a=\"1\"} 1\n", 1, "invalid label name"),
        ("m{a\"1\"} 1\n", 1, "expected '='"),
        ("m{a=1} 1\n", 1, "expected '\"'"),
        ("m{a=\"1\" b=\"2\"} 1\n", 1, "expected ',' or '}'"),
        ("m\n", 1, "missing value"),
        ("m abc\n", 1, "invalid value"),
        ("m 1 1.5\n", 1, "invalid timestamp"),
        ("m 1 2 3\n", 1, "after the timestamp"),
        ("1m 1\n", 1, "invalid metric name"),
        ("# TYPE m gauge\n# TYPE m counter\n", 2, "second TYPE"),
        ("# HELP m a\n# HELP m b\n", 2, "second HELP"),
        ("m 1\n# TYPE m gauge\n", 2, "after its samples"),
        ("# TYPE m histogramm\n", 1, "unknown metric type"),
        ("# TYPE m\n", 1, "missing type"),
        ("# TYPE h histogram\nh_bucket 1\n", 2, "lacks an le label"),
        ("# TYPE h histogram\nh_bucket{le=\"x\"} 1\n", 2, "invalid le"),
        ("# TYPE h histogram\nh 1\n", 2, "lacks a _bucket"),
        ("# TYPE s summary\ns 1\n", 2, "lacks a quantile"),
        ("# TYPE 9 gauge\n", 1, "invalid metric name"),
    ] as [(String, Int, String)])
    func rejects(_ text: String, _ line: Int, _ message: String) {
        #expect {
            try PrometheusText.parse(text)
        } throws: { error in
            guard let e = error as? PrometheusTextError else { return false }
            return e.line == line && e.message.contains(message)
        }
    }

    @Test func familyHelpers() throws {
        let families = try PrometheusText.parse("""
            # TYPE h histogram
            h_bucket{le="1",e="0"} 1
            h_bucket{le="+Inf",e="0"} 3
            h_bucket{e="1",le="+Inf"} 5
            h_bucket{e="1",le="1"} 4
            h_sum{e="0"} 2
            h_count{e="0"} 3
            # TYPE g gauge
            g{e="0"} 1.5
            g{e="1"} 2
            """)
        #expect(families.family(named: "g")?.sum == 3.5)
        #expect(families.family(named: "h")?.sum == nil)
        let series = families.family(named: "h")?.histogramSeries ?? []
        #expect(series.count == 2)
        #expect(series.first { $0.labels == ["e": "1"] }?.buckets == [.init(upperBound: 1, count: 4), .init(upperBound: .infinity, count: 5)])
        #expect(series.first { $0.labels == ["e": "0"] }?.sum == 2)
        #expect(series.first { $0.labels == ["e": "0"] }?.count == 3)
    }
}

/// Parsing only the wanted families gives exactly those families, as a full parse would.
@Suite struct SelectiveParseTests {
    static let text = """
        # HELP a_total A counter.
        # TYPE a counter
        a_total{engine="0"} 5
        # TYPE h histogram
        h_bucket{le="1"} 1
        h_bucket{le="+Inf"} 2
        h_sum 3
        h_count 2
        # TYPE g gauge
        g 7
        this line { is not valid Prometheus text
        """

    @Test(arguments: [
        (["a"], ["a_total"]), (["a_total"], ["a_total"]), (["h"], ["h"]), (["g", "h"], ["g", "h"]), (["nothing"], []),
    ])
    func onlyTheWantedFamilies(_ wanted: [String], _ expected: [String]) throws {
        // The garbage last line belongs to no wanted family: skipped, not an error.
        let families = try PrometheusText.parse(Array(Self.text.utf8), only: Set(wanted))
        let withSamples = families.filter { !$0.samples.isEmpty }
        #expect(withSamples.map(\.name).sorted() == expected)
        let valid = Self.text.split(separator: "\n").dropLast().joined(separator: "\n")
        let full = try PrometheusText.parse(valid)
        for f in withSamples { #expect(full.first { $0.name == f.name } == f, "\(f.name) as in a full parse") }
    }

    @Test func aMalformedLineOfAWantedFamilyStillThrows() {
        #expect(throws: PrometheusTextError.self) { try PrometheusText.parse(Array("g{x=\"1\" 2\n".utf8), only: ["g"]) }
    }
}
