// swift-tools-version: 6.0
import Foundation
import PackageDescription

// Module layout follows ../shared/DESIGN.md §2: an arrow only ever points down this list.
let package = Package(
    name: "HeteroScale",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "heteroscale", targets: ["heteroscale"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
    ],
    targets: [
        // C shims. Unsafe interop stays in these and in a few Swift files around them.
        .systemLibrary(
            name: "CCurl",
            pkgConfig: "libcurl",
            providers: [.apt(["libcurl4-openssl-dev"])]
        ),
        .systemLibrary(
            name: "CYAML",
            pkgConfig: "yaml-0.1",
            providers: [.apt(["libyaml-dev"])]
        ),
        // Pure modules.
        .target(name: "YAML", dependencies: ["CYAML"]),
        .target(name: "KubeAPI", dependencies: ["YAML"]),
        // Network edge.
        .target(name: "KubeClient", dependencies: ["CCurl", "YAML", "KubeAPI"]),
        // Controller runtime: work queue, reconcile loop (informers and leader election join it).
        .target(name: "KubeRuntime", dependencies: ["KubeClient", "KubeAPI", "YAML", .product(name: "Logging", package: "swift-log")]),
        // Pure strategies (no I/O, clock injected).
        .target(name: "Autoscaling", dependencies: ["KubeAPI"]),
        // Pure topology-aware placement: RDMA subgroup classes, one scheduling cycle, scale-in order.
        .target(name: "Placement", dependencies: ["KubeAPI", "YAML", "Autoscaling"]),
        // Prometheus text parser, concurrent pod scraper, Prometheus queries, counters → rates, and the
        // observation pipeline (scrapes → signals → snapshots) the controller and the simulator share.
        .target(name: "Metrics", dependencies: ["KubeClient", "KubeAPI", "Autoscaling", "YAML"]),
        // Trace-driven P/D cluster simulation; its instances expose vLLM's /metrics and its
        // autoscalers observe them through Metrics' pipeline, as the controller does.
        // Release builds skip the runtime exclusivity checks (the compiler's static ones stay): in the event loop they
        // cost ~15 % of a run (docs/simulation.md, "Performance").
        .target(name: "Simulation", dependencies: ["YAML", "KubeAPI", "Autoscaling", "Placement", "Metrics"],
                swiftSettings: [.unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))]),
        // Reconcilers: read caches → collect metrics → decide → write /scale, status and events.
        .target(
            name: "Controller",
            dependencies: [
                "KubeAPI", "KubeClient", "KubeRuntime", "Autoscaling", "Placement", "Metrics", "YAML",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        // Loopback Kubernetes API server: a test double and the sandbox's API.
        .target(
            name: "KubeEmulator",
            dependencies: [
                "YAML", "KubeAPI",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        // `heteroscale sandbox`: the emulator, the simulator as the data plane and the controller in one process.
        .target(
            name: "Sandbox",
            dependencies: [
                "YAML", "KubeAPI", "KubeClient", "KubeRuntime", "Placement", "Simulation", "KubeEmulator", "Controller", "Metrics",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "heteroscale",
            dependencies: [
                "YAML", "KubeAPI", "KubeClient", "KubeRuntime", "Autoscaling", "Placement", "Simulation", "KubeEmulator", "Controller", "Metrics", "Sandbox",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .testTarget(name: "YAMLTests", dependencies: ["YAML", "KubeAPI"]),
        // Helpers shared by the test targets: child processes (real peers), temporary directories.
        .target(name: "TestSupport", dependencies: ["KubeClient", "YAML"], path: "Tests/TestSupport"),
        .testTarget(name: "KubeClientTests", dependencies: ["KubeClient", "KubeAPI", "YAML", "TestSupport"]),
        .testTarget(name: "KubeRuntimeTests", dependencies: ["KubeRuntime", "KubeClient", "YAML"]),
        .testTarget(name: "KubeEmulatorTests", dependencies: ["KubeEmulator", "KubeClient", "YAML"]),
        .testTarget(name: "KubeIntegrationTests", dependencies: ["KubeRuntime", "KubeClient", "KubeEmulator", "KubeAPI", "Autoscaling", "YAML", "Simulation"]),
        .testTarget(name: "MetricsTests", dependencies: ["Metrics", "TestSupport", "KubeClient", "KubeAPI", "Autoscaling", "YAML", "Simulation"]),
        .testTarget(name: "ControllerTests", dependencies: ["Controller", "Metrics", "TestSupport", "KubeEmulator", "KubeRuntime", "KubeClient", "KubeAPI", "Autoscaling", "Placement", "YAML"]),
        .testTarget(name: "SimulationTests", dependencies: ["Simulation", "Autoscaling", "Placement", "YAML", "TestSupport", "Metrics", "KubeAPI"]),
        .testTarget(name: "AutoscalingTests", dependencies: ["Autoscaling", "KubeAPI", "YAML"], exclude: ["Fixtures"]),
        .testTarget(name: "SandboxTests", dependencies: ["Sandbox", "Simulation", "TestSupport", "KubeClient", "YAML"]),
        .testTarget(name: "PlacementTests", dependencies: ["Placement", "KubeAPI", "YAML", "TestSupport"], exclude: ["Fixtures"]),
    ],
    swiftLanguageModes: [.v6]
)

// Fuzz targets (libFuzzer): only with HETEROSCALE_FUZZ=1, built by tools/fuzz.sh with `-sanitize=fuzzer,address`
// (docs/fuzzing.md). Ordinary builds never see them.
if ProcessInfo.processInfo.environment["HETEROSCALE_FUZZ"] != nil {
    package.targets.append(.target(name: "FuzzDriver", path: "Fuzz/FuzzDriver"))
    let fuzzTargets: [(String, [Target.Dependency])] = [
        ("FuzzYAML", ["YAML", "KubeAPI"]), ("FuzzJSON", ["YAML"]), ("FuzzPrometheus", ["Metrics"]),
        ("FuzzKubeconfig", ["KubeClient"]), ("FuzzScenario", ["Simulation"]), ("FuzzWatch", ["KubeClient"]),
    ]
    for (name, dependencies) in fuzzTargets {
        package.targets.append(.executableTarget(name: name, dependencies: ["FuzzDriver"] + dependencies, path: "Fuzz/\(name)",
                                                 swiftSettings: [.unsafeFlags(["-parse-as-library"])]))
    }
}
