import Autoscaling
import Foundation
import KubeAPI
import KubeClient
import Testing
@testable import Metrics

@Suite struct PrometheusQueryTests {
    @Test(arguments: [
        ("sum(rate(x{namespace=\"{{namespace}}\"}[1m]))", nil, "sum(rate(x{namespace=\"prod\"}[1m]))"),
        ("x{pod=\"{{ pod }}\",sel=\"{{selector}}\"}", "p-1", "x{pod=\"p-1\",sel=\"app=llm,tier in (a,b)\"}"),
        ("x{pod=\"{{pod}}\"}", nil, "x{pod=\"{{pod}}\"}"),
        ("{{unknown}} {{namespace", nil, "{{unknown}} {{namespace"),
    ] as [(String, String?, String)])
    func render(_ template: String, _ pod: String?, _ expected: String) {
        #expect(PrometheusQuery.render(template, namespace: "prod", selector: "app=llm,tier in (a,b)", pod: pod) == expected)
    }

    @Test func perPodAndURL() {
        #expect(PrometheusQuery.isPerPod("x{pod=\"{{pod}}\"}"))
        #expect(!PrometheusQuery.isPerPod("sum(x{namespace=\"{{namespace}}\"})"))
        #expect(PrometheusQuery.url(endpoint: "http://prom:9090/", query: "sum(x{a=\"b c\"})/2+1")
            == "http://prom:9090/api/v1/query?query=sum%28x%7Ba%3D%22b%20c%22%7D%29%2F2%2B1")
    }

    @Test(arguments: [
        (#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"pod":"a"},"value":[1712345678.5,"2.5"]},{"metric":{},"value":[1712345678,"1"]}]}}"#, [2.5, 1.0], nil),
        (#"{"status":"success","data":{"resultType":"scalar","result":[1712345678.5,"7"]}}"#, [7.0], nil),
        (#"{"status":"success","data":{"resultType":"vector","result":[]}}"#, [], nil),
        (#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"+Inf"]}]}}"#, [Double.infinity], nil),
        (#"{"status":"error","errorType":"bad_data","error":"1:5: parse error: unexpected <EOF>"}"#, nil, "Prometheus bad_data: 1:5: parse error: unexpected <EOF>"),
        (#"{"status":"success","data":{"resultType":"matrix","result":[]}}"#, nil, "unsupported result type matrix"),
        (#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,2]}]}}"#, nil, "no [time, \"value\"] pair"),
        (#"<html>"#, nil, "not JSON"),
    ] as [(String, [Double]?, String?)])
    func parseResponse(_ body: String, _ values: [Double]?, _ error: String?) {
        switch PrometheusQuery.parseResponse(Array(body.utf8)) {
        case .success(let v): #expect(v == values)
        case .failure(let e):
            #expect(values == nil)
            #expect(e.message.contains(error ?? "<none>"), "\(e.message)")
        }
    }

    static func source(_ endpoint: String, _ query: String, role: String? = nil) -> MetricSource {
        var s = MetricSource(metricSourceType: .prometheus, targetMetric: "vllm:num_requests_running", targetValue: "10", role: role)
        s.endpoint = endpoint
        s.query = query
        return s
    }

    /// Against the loopback server's fake `/api/v1/query`: the substituted query arrives url-encoded.
    @Test func queriesAgainstFakePrometheus() async throws {
        try await CollectorTests.withServer { server, transport in
            let aggregate = "sum(vllm:num_requests_running{namespace=\"ns\",app=\"llm\"})"
            try await server.answer(query: aggregate, json: #"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"pod":"a"},"value":[1,"3"]},{"metric":{"pod":"b"},"value":[1,"4.5"]}]}}"#)
            try await server.answer(query: "x{pod=\"pod-2\"}", json: #"{"status":"success","data":{"resultType":"scalar","result":[1,"6"]}}"#)
            try await server.answer(query: "bad(", json: #"{"status":"error","errorType":"bad_data","error":"parse error"}"#, status: 400)
            let spec = CollectorTests.spec([
                Self.source(server.prometheusEndpoint, "sum(vllm:num_requests_running{namespace=\"{{namespace}}\",{{selector}}})"),
                Self.source(server.prometheusEndpoint + "/", "x{pod=\"{{pod}}\"}"),
                Self.source(server.prometheusEndpoint, "bad("),
                Self.source(server.prometheusEndpoint, "empty"),
                Self.source("", "x"),
            ])
            let pods = [CollectorTests.pod(2), CollectorTests.pod(3), CollectorTests.pod(4, ready: false)]
            let result = await MetricsCollector(transport: transport).collect(
                key: "ns/pa", spec: spec, namespace: "ns", selector: "app=\"llm\"", pods: pods, now: CollectorTests.t0)
            #expect(result.sources[0].total == 7.5)
            #expect(result.sources[0].pods.isEmpty)
            #expect(result.sources[0].target == 10)
            #expect(result.sources[1].total == nil)
            #expect(result.sources[1].pods.map(\.value) == [6, nil, nil])
            #expect(result.sources[2].total == nil && result.sources[3].total == nil)
            let messages = result.failures.map { "\($0.sourceIndex ?? -1) \($0.pod ?? "-") \($0.message)" }
            #expect(messages.contains("4 - a prometheus source needs both endpoint and query"))
            #expect(messages.contains("2 - query failed (HTTP 400): Prometheus bad_data: parse error"), "\(messages)")
            #expect(messages.contains("3 - the query returned no series"))
            #expect(messages.contains("1 pod-3 the query returned no series"))
            let stats = try await server.stats()
            #expect(stats.queries.contains(aggregate))
            #expect(stats.queries.contains("x{pod=\"pod-2\"}") && stats.queries.contains("x{pod=\"pod-3\"}"))
            #expect(!stats.queries.contains("x{pod=\"pod-4\"}"))
            #expect(stats.rawQueryPaths.contains("/api/v1/query?query=" + PrometheusQuery.percentEncode(aggregate)))
            #expect(stats.rawQueryPaths.contains("/api/v1/query?query=x%7Bpod%3D%22pod-2%22%7D"))
        }
    }
}

/// Credentials in an endpoint URL never reach failure messages (they become events and log lines).
@Suite struct URLRedactionTests {
    @Test(arguments: [
        ("http://user:secret@prom:9090/api/v1/query?query=up", "http://prom:9090/api/v1/query?query=up"),
        ("https://token@prom.example/x", "https://prom.example/x"),
        ("http://10.0.0.1:8000/metrics", "http://10.0.0.1:8000/metrics"),
        ("http://prom:9090/api?q=a@b", "http://prom:9090/api?q=a@b"),
        ("not a url", "not a url"),
    ])
    func userInfoIsRemoved(_ url: String, _ shown: String) {
        #expect(HTTPFetch.redacted(url) == shown)
    }
}
