import Foundation
import KubeClient
import Testing
import TestSupport

/// No credential ever reaches the logs: the controller runs at `--log-level trace` with a bearer token or an
/// exec credential plugin, through reconciles, failing scrapes and API errors, and its whole output is searched
/// for the secret.
@Suite(.serialized) struct SecretsInLogsTests {
    @Test(arguments: ["token", "exec"])
    func noCredentialReachesTheLogs(auth: String) async throws {
        let cluster = try await ClusterFixture.start()
        defer { Task { await cluster.stop() } }
        let secret = "hs-secret-\(UUID().uuidString.lowercased())"
        let server = try #require(cluster.client.config.server as String?)
        let user: String
        switch auth {
        case "token":
            user = "    token: \(secret)"
        default:
            try cluster.dir.write("credential.sh", """
                #!/bin/sh
                echo '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"\(secret)"}}'
                """, mode: 0o755)
            user = """
                    exec:
                      apiVersion: client.authentication.k8s.io/v1
                      command: \(cluster.dir.path("credential.sh"))
                      interactiveMode: Never
                """
        }
        try cluster.dir.write("secret-kubeconfig", """
            apiVersion: v1
            kind: Config
            clusters: [{name: c, cluster: {server: "\(server)"}}]
            users:
              - name: u
                user:
            \(user)
            contexts: [{name: ctx, context: {cluster: c, user: u, namespace: default}}]
            current-context: ctx
            """)
        // A target whose pods serve nothing: failing scrapes and warnings, plus one PodAutoscaler on a missing
        // target, so error paths log too.
        try cluster.apply(ClusterFixture.deployment(replicas: 1))
        try cluster.apply(ClusterFixture.autoscaler("llama", strategy: "KPA", port: 1))
        try cluster.apply(ClusterFixture.autoscaler("ghost", strategy: "HPA", port: 1, deployment: "missing"))

        let controller = try await ControllerProcess(kubeconfig: cluster.dir.path("secret-kubeconfig"), extra: ["--log-level", "trace"])
        defer { controller.stop() }
        let reconciles = #"controller_runtime_reconcile_total{controller="podautoscaler",result="requeue_after"}"#
        await eventually("several reconciles") { try await controller.metric(reconciles) ?? 0 >= 4 }
        await eventually("a failed scrape logged") { controller.process.output.contains("FailedGetPodsMetric") || controller.process.output.contains("scrape") }
        #expect(controller.terminate() == 0)
        let output = controller.process.output
        #expect(output.split(separator: "\n").count > 10, "the run logged something to search")
        #expect(!output.contains(secret), "the \(auth) credential appears in the logs")
        #expect(!output.contains(String(secret.prefix(20))), "a prefix of the credential appears in the logs")
    }
}
