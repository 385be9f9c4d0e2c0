import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization
import YAML

/// A loopback Kubernetes API server for tests and the sandbox: an in-memory store with Kubernetes verb,
/// discovery, CRD, subresource, watch and Table semantics, served over plain HTTP/1.1 (SwiftNIO).
public final class KubeEmulator: Sendable {
    public struct Configuration: Sendable {
        public var host = "127.0.0.1"
        /// 0 picks a free port; `start()` returns the bound one.
        public var port = 0
        /// How many events the watch history keeps; a watch from an older resourceVersion gets 410 Expired.
        public var historyLimit = 1000
        /// Interval between BOOKMARK events on watches that asked for them.
        public var bookmarkInterval: Duration = .seconds(60)
        /// The clock for creationTimestamp, deletionTimestamp and table ages.
        public var now: @Sendable () -> Date = { Date() }
        /// The built-in kubelet (Deployment → ready Pods); nil = off.
        public var kubelet: KubeletOptions?
        /// A deleted namespace is Terminating this long before its contents and itself are removed.
        public var namespaceTerminationDelay: Duration = .seconds(1)
        /// The emulator's view of the pod network: the address its pod proxy (`pods/NAME:PORT/proxy/...`) dials for
        /// a pod IP. The identity by default; a test can map pod IPs nothing listens on (so a controller cannot
        /// reach them directly) to the loopback addresses their servers really use, which only the emulator
        /// knows — as a kind node reaches pod IPs the host has no route to.
        public var podNetwork: @Sendable (_ podIP: String) -> String = { $0 }
        public init() {}
    }

    public let configuration: Configuration
    let engine: Engine
    private let running = Mutex<(group: MultiThreadedEventLoopGroup, channel: any Channel)?>(nil)

    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
        engine = Engine(historyLimit: configuration.historyLimit, now: configuration.now, podNetwork: configuration.podNetwork)
        engine.configure(kubelet: configuration.kubelet,
                         namespaceTerminationDelay: configuration.namespaceTerminationDelay)
    }

    /// Binds and starts serving; returns the bound port.
    @discardableResult
    public func start() async throws -> Int { try await start(port: configuration.port) }

    /// Binds to `port` (0 = any free port) and starts serving; returns the bound port. After `stop()` this
    /// restarts the server with its state (objects, resourceVersions, watch history) intact, as an API server
    /// restart backed by the same etcd would.
    @discardableResult
    public func start(port: Int) async throws -> Int {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let engine = self.engine
        let bookmarkInterval = TimeAmount.nanoseconds(
            configuration.bookmarkInterval.components.seconds * 1_000_000_000
                + configuration.bookmarkInterval.components.attoseconds / 1_000_000_000)
        do {
            let channel = try await ServerBootstrap(group: group)
                .serverChannelOption(.backlog, value: 256)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                        try channel.pipeline.syncOperations.addHandler(
                            HTTPHandler(engine: engine, bookmarkInterval: bookmarkInterval))
                    }
                }
                .bind(host: configuration.host, port: port).get()
            let port = channel.localAddress?.port ?? 0
            engine.address.withLock { $0 = "\(configuration.host):\(port)" }
            running.withLock { $0 = (group, channel) }
            return port
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
    }

    /// Closes the listener and every connection (watches end), then stops the event loop.
    public func stop() async throws {
        guard let r = running.withLock({ s -> (group: MultiThreadedEventLoopGroup, channel: any Channel)? in
            defer { s = nil }
            return s
        }) else { return }
        try? await r.channel.close()
        try await r.group.shutdownGracefully()
    }

    /// The bound port, once started.
    public var port: Int? { running.withLock { $0?.channel.localAddress?.port } }

    /// `http://127.0.0.1:PORT`, once started.
    public var baseURL: String? { port.map { "http://\(configuration.host):\($0)" } }

    /// The current (latest) resourceVersion.
    public var resourceVersion: String { engine.state.withLock { String($0.rv) } }

    /// Watches currently streaming (lets tests wait until a client's watch is established).
    public var activeWatchCount: Int { engine.state.withLock { $0.watchers.count } }

    /// Forgets the watch history: any watch from an earlier resourceVersion now gets 410 Expired.
    public func compactHistory() { engine.state.withLock { $0.compact() } }

    /// A kubeconfig (no auth, plain HTTP) pointing at this emulator.
    public func kubeconfig(namespace: String = "default") -> String? {
        guard let url = baseURL else { return nil }
        return Self.kubeconfig(server: url, namespace: namespace)
    }

    public static func kubeconfig(server: String, namespace: String = "default") -> String {
        """
        apiVersion: v1
        kind: Config
        clusters:
        - name: emulator
          cluster:
            server: \(server)
        users:
        - name: emulator
          user: {}
        contexts:
        - name: emulator
          context:
            cluster: emulator
            user: emulator
            namespace: \(namespace)
        current-context: emulator
        preferences: {}

        """
    }

    /// Applies objects directly (as if POSTed, or PUT when present), for seeding tests; returns them stored.
    @discardableResult
    public func apply(_ object: JSONValue) throws -> JSONValue {
        try engine.state.withLock { s throws(EmulatorError) in
            guard let apiVersion = object["apiVersion"]?.stringValue, let kind = object["kind"]?.stringValue,
                  let def = s.defs.first(where: { $0.groupVersion == apiVersion && $0.kind == kind }) else {
                throw EmulatorError(message: "unknown kind \(object["apiVersion"]?.stringValue ?? "")/\(object["kind"]?.stringValue ?? "")")
            }
            let ns = def.namespaced ? (object["metadata"]?["namespace"]?.stringValue ?? "default") : nil
            let name = object["metadata"]?["name"]?.stringValue ?? ""
            do {
                if var existing = s.object(def, ns, name) {
                    existing = JSONOps.mergePatch(existing, object)
                    var out = try s.update(def, ns, name, existing, subresource: nil, dryRun: false)
                    if def.hasStatus, let status = object["status"] {
                        out["status"] = status
                        out = try s.update(def, ns, name, out, subresource: "status", dryRun: false)
                    }
                    return out
                }
                var out = try s.create(def, ns, object, dryRun: false)
                if def.hasStatus, let status = object["status"] {
                    out["status"] = status
                    out = try s.update(def, ns, name.isEmpty ? out["metadata"]?["name"]?.stringValue ?? "" : name,
                                       out, subresource: "status", dryRun: false)
                }
                return out
            } catch let error as StatusError {
                throw EmulatorError(message: error.message)
            } catch {
                throw EmulatorError(message: "\(error)")
            }
        }
    }
}

public struct EmulatorError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}
