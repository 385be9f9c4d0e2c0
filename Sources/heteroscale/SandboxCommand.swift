import ArgumentParser
import Controller
import Foundation
import KubeEmulator
import Logging
import Sandbox

/// `heteroscale sandbox`: a P/D cluster on this machine — API emulator, simulated engines, the controller.
struct SandboxCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sandbox",
        abstract: "Run a simulated GPU cluster with the controller in one process; drive it with kubectl.",
        discussion: """
            Starts the loopback Kubernetes API emulator with the scenario's GPU nodes (labels heteroscale.io/gpu-type, \
            heteroscale.io/s1, heteroscale.io/s2; allocatable nvidia.com/gpu), its scheduler and kubelet stand-ins \
            (pod IPs on loopback, --pod-ip-prefix), the simulator as the data plane (every bound pod of a \
            DeploymentGroup role or Deployment the scenario names is a simulated vLLM instance: Ready after the \
            scenario's cold start, in service while Ready and admitted by the P/D gate, serving /metrics on \
            POD_IP:CONTAINER_PORT, taking the scenario's traffic) and the HeteroScale controller against it. \
            Then: kubectl apply -f samples/sandbox/ and watch kubectl get pa,dg,pods -o wide.

            Simulated time runs at wall clock x --speed from the moment the first instance is in service. The \
            pods serve their counters divided by --speed, so rates (tokens/s) read as simulated rates and the same targets \
            apply; the controller's ticks, windows and cooldowns stay wall-clock: see docs/sandbox.md before \
            compressing time.

            Default scenario: samples/simulation/sandbox.yaml (2 H100 + 3 H20 nodes, llama2-70b TP4, a load that \
            ramps up and down over about two minutes). Stop with Ctrl-C.
            """
    )

    @Argument(help: "A scenario file (samples/simulation/*.yaml format). Default: samples/simulation/sandbox.yaml.")
    var scenario: String?

    @Option(help: "The scenario policy whose manifests name the engine pools (default: the first with a DeploymentGroup).")
    var policy: String?

    @Option(name: .customLong("kubeconfig-out"), help: "Write the kubeconfig here (default: a file in the temporary directory).")
    var kubeconfigOut: String?

    @Option(help: "Simulated seconds per wall-clock second.")
    var speed: Double = 1

    @Option(help: "The API emulator's port (0 picks a free one).")
    var port: Int = 0

    @Option(help: "Leading three octets of pod IPs, on loopback (each pod's /metrics listens on its IP).")
    var podIPPrefix = "127.0.20."

    @Option(help: "Folder of the CRD manifests to install (default: crds/ of this checkout).")
    var crds: String?

    @Flag(help: "Do not run the controller in the process (run `heteroscale controller` yourself).")
    var noController = false

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel = "info"

    @Option(help: "Log format: text or json.")
    var logFormat = "text"

    func validate() throws {
        guard speed.isFinite, speed > 0 else { throw ValidationError("--speed must be positive") }
        guard (0...65535).contains(port) else { throw ValidationError("--port must be between 0 and 65535") }
        let octets = podIPPrefix.split(separator: ".", omittingEmptySubsequences: false)
        guard podIPPrefix.hasPrefix("127."), podIPPrefix.hasSuffix("."), octets.count == 4,
              octets.dropLast().allSatisfy({ Int($0).map { (0...255).contains($0) } ?? false }) else {
            throw ValidationError("--pod-ip-prefix must be three loopback octets and a dot, e.g. 127.0.20.")
        }
        guard LogFormat(rawValue: logFormat) != nil else { throw ValidationError("--log-format must be text or json") }
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("--log-level: unknown level \(logLevel)") }
    }

    func run() async throws {
        let format = LogFormat(rawValue: logFormat) ?? .text
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in LineLogHandler(label: label, format: format, level: level) }

        guard let path = scenario ?? SandboxScenario.repositoryFile("samples/simulation/sandbox.yaml") else {
            Self.fail(CommandFailure(description: "no scenario given and samples/simulation/sandbox.yaml not found (run from the checkout, or pass SCENARIO.yaml)"))
        }
        guard let crdDirectory = crds ?? SandboxScenario.repositoryFile("crds") else {
            Self.fail(CommandFailure(description: "crds/ not found (run from the checkout, or pass --crds DIR)"))
        }
        let crdFiles = ((try? FileManager.default.contentsOfDirectory(atPath: crdDirectory)) ?? [])
            .filter { $0.hasSuffix(".yaml") }.sorted().map { "\(crdDirectory)/\($0)" }
        guard !crdFiles.isEmpty else { Self.fail(CommandFailure(description: "--crds \(crdDirectory): no .yaml files")) }

        let loaded: SandboxScenario
        do { loaded = try SandboxScenario(path: path, policy: policy) } catch { Self.fail(error) }
        var options = Sandbox.Options()
        options.speed = speed
        options.podIPPrefix = podIPPrefix
        options.apiPort = port
        options.crdFiles = crdFiles
        options.controller = !noController
        let sandbox: Sandbox
        let server: String
        do {
            sandbox = try Sandbox(scenario: loaded, options: options)
            server = try await sandbox.start()
        } catch {
            Self.fail(error)
        }
        let kubeconfig = kubeconfigOut ?? NSTemporaryDirectory() + "heteroscale-sandbox-\(getpid()).kubeconfig"
        do {
            try KubeEmulator.kubeconfig(server: server).write(toFile: kubeconfig, atomically: true, encoding: .utf8)
        } catch {
            await sandbox.stop()
            Self.fail(CommandFailure(description: "--kubeconfig-out \(kubeconfig): \(error)"))
        }
        FileHandle.standardOutput.write(Data(Self.banner(scenario: loaded, server: server, kubeconfig: kubeconfig, options: options,
                                                         controllerMetrics: sandbox.controllerMetricsAddress).utf8))
        await EmulatorCommand.waitForTermination()
        await sandbox.stop()
        if kubeconfigOut == nil { try? FileManager.default.removeItem(atPath: kubeconfig) }
        let s = sandbox.engine.summary()
        FileHandle.standardOutput.write(Data("sandbox stopped at simulated t=\(String(format: "%.1f", s.time)) s: \(s.finished) requests finished, \(s.inFlight) in flight, \(s.lost) lost\n".utf8))
    }

    /// What the sandbox runs and what to type next.
    static func banner(scenario: SandboxScenario, server: String, kubeconfig: String, options: Sandbox.Options,
                       controllerMetrics: String?) -> String {
        let nodes = scenario.nodes
        var byType: [String: (nodes: Int, gpus: Int)] = [:]
        for n in nodes {
            let t = n.labels["heteroscale.io/gpu-type"] ?? "?"
            byType[t, default: (0, 0)].nodes += 1
            byType[t, default: (0, 0)].gpus += n.gpus
        }
        let cluster = byType.sorted { $0.key < $1.key }.map { "\($0.value.nodes) \($0.key) node(s) (\($0.value.gpus) GPUs)" }
            .joined(separator: ", ")
        let pools = scenario.config.pools.map { "\($0.name) (\($0.role.rawValue), \(($0.gpuTypes ?? [$0.gpuType]).joined(separator: "|")), TP\($0.tensorParallel))" }
            .joined(separator: ", ")
        var out = """
            HeteroScale sandbox: scenario \(scenario.spec.name ?? scenario.path) (policy \(scenario.policy.name)), speed \(options.speed)x
              API server      \(server)  (kubeconfig written: \(kubeconfig))
              cluster         \(cluster)
              engine pools    \(pools); model \(scenario.config.pools.first?.model ?? "?")
              pod IPs         \(options.podIPPrefix)N, /metrics on each pod's container port
              controller      \(options.controller ? "running in this process" + (controllerMetrics.map { " (its /metrics: http://\($0)/metrics)" } ?? "") : "not running (--no-controller)")
              traffic         starts when the first instance is in service

            Next, in another shell:
              export KUBECONFIG=\(kubeconfig)
              kubectl apply -f samples/sandbox/
              kubectl get pa,dg,pods -o wide
              kubectl describe pa llama-pd
              curl -s http://$(kubectl get pods -l heteroscale.io/role=decode -o jsonpath='{.items[0].status.podIP}'):8000/metrics | grep ^vllm:
            """
        out += "\n"
        return out
    }
}
