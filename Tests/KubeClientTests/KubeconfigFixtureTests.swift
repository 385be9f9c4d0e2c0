import Foundation
import Synchronization
import Testing

@testable import KubeClient

// Shared fixtures for the kubeconfig and credential tests, and tests of the small helpers underneath.

/// A unique directory under the system temporary directory, removed by `remove()`.
struct TempDir: Sendable {
    let path: String

    init() throws {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("heteroscale-kubeconfig-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        // Resolve symlinks (e.g. /tmp -> /private/tmp) so paths compare equal to what the loader reports.
        path = KubePath.clean(url.resolvingSymlinksInPath().path)
    }

    func remove() { try? FileManager.default.removeItem(atPath: path) }

    func url(_ relative: String) -> String { KubePath.clean(path + "/" + relative) }

    /// Writes a file (creating directories) and returns its absolute path.
    @discardableResult
    func write(_ relative: String, _ text: String, executable: Bool = false) throws -> String {
        try write(relative, bytes: Array(text.utf8), executable: executable)
    }

    @discardableResult
    func write(_ relative: String, bytes: [UInt8], executable: Bool = false) throws -> String {
        let full = url(relative)
        try FileManager.default.createDirectory(
            atPath: KubePath.directory(of: full), withIntermediateDirectories: true)
        try Data(bytes).write(to: URL(fileURLWithPath: full))
        if executable {
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: full)
        }
        return full
    }

    /// A `#!/bin/sh` script.
    @discardableResult
    func script(_ relative: String, _ body: String) throws -> String {
        try write(relative, "#!/bin/sh\n" + body + "\n", executable: true)
    }

    func read(_ relative: String) -> String? {
        FileManager.default.contents(atPath: url(relative)).map { String(decoding: $0, as: UTF8.self) }
    }
}

/// Runs `body` with a fresh temporary directory and removes it afterwards.
func withTempDir<R>(_ body: (TempDir) async throws -> R) async throws -> R {
    let dir = try TempDir()
    defer { dir.remove() }
    return try await body(dir)
}

/// A clock tests can move.
final class TestClock: Sendable {
    private let current: Mutex<Date>
    init(_ start: Date = Date(timeIntervalSince1970: 1_900_000_000)) { current = Mutex(start) }
    var now: Date { current.withLock { $0 } }
    func advance(by seconds: TimeInterval) { current.withLock { $0 += seconds } }
    func set(_ date: Date) { current.withLock { $0 = date } }
}

/// A hermetic environment: home and in-cluster root inside `dir`, no inherited variables except `PATH`
/// (so that `/bin/sh` scripts can run `cat`, `sleep`, …).
func testEnvironment(
    _ dir: TempDir, variables: [String: String] = [:], clock: TestClock? = nil, execTimeout: Double = 20
) -> KubeEnvironment {
    var vars = ["PATH": dir.url("bin") + ":/usr/bin:/bin"]
    vars.merge(variables) { $1 }
    let clock = clock ?? TestClock()
    return KubeEnvironment(
        variables: vars, homeDirectory: dir.url("home"), currentDirectory: dir.url("cwd"),
        inClusterRoot: dir.url("root"), clock: { clock.now }, execTimeout: execTimeout)
}

enum Fixtures {
    static let caPEM = "-----BEGIN CERTIFICATE-----\nMIIBfakeCAcertificateForTests\n-----END CERTIFICATE-----\n"
    static let certPEM = "-----BEGIN CERTIFICATE-----\nMIIBfakeClientCertificate\n-----END CERTIFICATE-----\n"
    static let keyPEM = "-----BEGIN PRIVATE KEY-----\nMIIEsuperSecretPrivateKeyMaterial\n-----END PRIVATE KEY-----\n"
    static func b64(_ s: String) -> String { Data(s.utf8).base64EncodedString() }

    /// A one-context kubeconfig with the given user body (indented for `users[0].user`).
    static func kubeconfig(
        server: String = "https://127.0.0.1:6443", cluster extraCluster: String = "", user: String,
        namespace: String? = nil
    ) -> String {
        """
        apiVersion: v1
        kind: Config
        current-context: test
        clusters:
        - name: test-cluster
          cluster:
            server: \(server)
        \(extraCluster)
        contexts:
        - name: test
          context:
            cluster: test-cluster
            user: test-user
        \(namespace.map { "    namespace: \($0)" } ?? "")
        users:
        - name: test-user
          user:
        \(user)
        """
    }
}

@Suite struct KubeconfigHelperTests {
    @Test(arguments: [
        ("/a/b/../c", "/a/c"),
        ("/a/./b//c/", "/a/b/c"),
        ("/../a", "/a"),
        ("/", "/"),
        ("a/../../b", "../b"),
        ("", "."),
    ])
    func cleanPath(input: String, expected: String) {
        #expect(KubePath.clean(input) == expected)
    }

    @Test(arguments: [
        ("certs/c.pem", "/etc/kube", "/etc/kube/certs/c.pem"),
        ("../c.pem", "/etc/kube", "/etc/c.pem"),
        ("/abs/c.pem", "/etc/kube", "/abs/c.pem"),
        ("~/c.pem", "/etc/kube", "/home/u/c.pem"),
        ("~", "/etc/kube", "/home/u"),
        ("./bin/plugin", "/etc/kube", "/etc/kube/bin/plugin"),
    ])
    func resolvePath(input: String, base: String, expected: String) {
        let env = KubeEnvironment(homeDirectory: "/home/u", currentDirectory: "/cwd")
        #expect(env.resolvePath(input, relativeTo: base) == expected)
    }

    @Test func relativeToCurrentDirectory() {
        let env = KubeEnvironment(homeDirectory: "/home/u", currentDirectory: "/work/dir")
        #expect(env.resolvePath("kc.yaml") == "/work/dir/kc.yaml")
    }

    @Test(arguments: [
        ("aGVsbG8=", "hello"),
        ("aGVs\nbG8=\n", "hello"),
        ("  aGVsbG8=  ", "hello"),
    ])
    func base64Accepted(input: String, expected: String) {
        #expect(KubeBase64.decode(input) == Array(expected.utf8))
    }

    @Test(arguments: ["aGVsbG8", "not base64!", "aGVsbG8=x", "%%%%"])
    func base64Rejected(input: String) {
        #expect(KubeBase64.decode(input) == nil)
    }

    @Test(arguments: [
        ("10.96.0.1", "443", "https://10.96.0.1:443"),
        ("fd00::1", "443", "https://[fd00::1]:443"),
        ("[fd00::1]", "6443", "https://[fd00::1]:6443"),
        ("kubernetes.default.svc", "443", "https://kubernetes.default.svc:443"),
    ])
    func inClusterServerURL(host: String, port: String, expected: String) {
        #expect(InClusterConfig.serverURL(host: host, port: port) == expected)
    }

    @Test func kubeconfigErrorFormat() {
        let e = KubeconfigError(
            .malformed, file: "/home/u/.kube/config", mark: KubeconfigMark(line: 12, column: 5),
            fieldPath: "users[0].user.client-certificate-data", message: "not valid base64")
        #expect(
            e.description
                == "/home/u/.kube/config: line 12, column 5: users[0].user.client-certificate-data: not valid base64")
        #expect(KubeconfigError(.noConfiguration, message: "nothing").description == "nothing")
    }
}
