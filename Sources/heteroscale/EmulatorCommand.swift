import ArgumentParser
import Dispatch
import Foundation
import KubeEmulator
import Synchronization

/// `heteroscale emulator`: a loopback Kubernetes API server (for tests, demos and the sandbox).
struct EmulatorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "emulator",
        abstract: "Run a loopback Kubernetes API emulator (plain HTTP on 127.0.0.1, no auth).",
        discussion: """
            Serves discovery, built-in kinds (namespaces, pods, nodes, services, events, leases, deployments), \
            CustomResourceDefinitions with status/scale subresources and printer columns, watches and \
            kubectl's Table output, from memory. With --with-kubelet: Deployments get pods, a scheduler binds them \
            to the --nodes (if any), a kubelet makes them Ready (readiness gates honoured) and an EndpointSlice \
            controller follows Services. Stop it with Ctrl-C.
            """
    )

    @Option(help: "Port to listen on (0 picks a free one).")
    var port: Int = 0

    @Option(name: .customLong("kubeconfig-out"), help: "Write a kubeconfig for the emulator to this file.")
    var kubeconfigOut: String?

    @Option(help: "Watch history window in events; a watch from an older resourceVersion gets 410 Expired.")
    var historyLimit: Int = 1000

    @Option(help: "Seconds between watch bookmarks.")
    var bookmarkInterval: Double = 60

    @Flag(help: "Run the built-in kubelet: Deployments get Pods that become Running and Ready with a pod IP.")
    var withKubelet = false

    @Option(help: "Seconds from pod creation to Ready (with --with-kubelet).")
    var podReadyDelay: Double = 1

    @Option(help: "Leading octets of pod IPs (with --with-kubelet), e.g. 127.0.10. for loopback pod IPs.")
    var podIPPrefix: String = "10.244."

    @Option(help: ArgumentHelp(
        "Load Nodes from this YAML file: a `kubectl get nodes -o yaml` List or ---separated Node documents.",
        discussion: "With --with-kubelet, the scheduler stand-in then binds pods to these nodes (node affinity and selectors, taints, nvidia.com/gpu/cpu/memory capacity); pods that fit nowhere stay Pending with PodScheduled=False.",
        valueName: "file"))
    var nodes: String?

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be between 0 and 65535") }
        guard historyLimit > 0 else { throw ValidationError("--history-limit must be positive") }
        guard bookmarkInterval > 0 else { throw ValidationError("--bookmark-interval must be positive") }
    }

    func run() async throws {
        try await serve()
    }

    /// Starts the emulator, writes the kubeconfig, and serves until SIGINT/SIGTERM.
    func serve() async throws {
        var config = KubeEmulator.Configuration()
        config.port = port
        config.historyLimit = historyLimit
        config.bookmarkInterval = .milliseconds(Int64(bookmarkInterval * 1000))
        if withKubelet {
            config.kubelet = KubeletOptions(readyDelay: .milliseconds(Int64(max(0, podReadyDelay) * 1000)), nodeName: "emulator-node", podIPPrefix: podIPPrefix)
        }
        let emulator = KubeEmulator(configuration: config)
        if let nodes {
            let text = try String(contentsOfFile: nodes, encoding: .utf8)
            let added = try emulator.addNodes(yaml: text)
            FileHandle.standardOutput.write(Data("loaded \(added.count) node(s) from \(nodes)\n".utf8))
        }
        let bound = try await emulator.start()
        let server = "http://\(config.host):\(bound)"
        if let kubeconfigOut {
            try KubeEmulator.kubeconfig(server: server).write(toFile: kubeconfigOut, atomically: true, encoding: .utf8)
        }
        var banner = "Kubernetes API emulator listening on \(server)\n"
        if let kubeconfigOut { banner += "kubeconfig written: kubectl --kubeconfig \(kubeconfigOut) get namespaces\n" }
        FileHandle.standardOutput.write(Data(banner.utf8))
        await Self.waitForTermination()
        try await emulator.stop()
    }

    private nonisolated(unsafe) static var signalSources: [any DispatchSourceSignal] = []

    /// Suspends until SIGINT or SIGTERM.
    static func waitForTermination() async {
        await withCheckedContinuation { (cont: CheckedContinuation<Void, Never>) in
            let fired = Mutex(false)
            let queue = DispatchQueue(label: "heteroscale.emulator.signals")
            queue.sync {
                for sig in [SIGINT, SIGTERM] {
                    signal(sig, SIG_IGN)
                    let source = DispatchSource.makeSignalSource(signal: sig, queue: queue)
                    source.setEventHandler {
                        if fired.withLock({ f in defer { f = true }; return !f }) { cont.resume() }
                    }
                    source.resume()
                    signalSources.append(source)
                }
            }
        }
    }
}
