import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Everything the configuration loader reads from the process's surroundings, so that tests can replace it.
public struct KubeEnvironment: Sendable {
    /// Environment variables: `KUBECONFIG`, `KUBERNETES_SERVICE_HOST`/`_PORT`, `POD_NAMESPACE`, and `PATH` plus
    /// everything else handed to exec credential plugins.
    public var variables: [String: String]
    /// The home directory, for `~/.kube/config` and `~` in paths.
    public var homeDirectory: String
    /// The directory relative paths given on the command line or in `KUBECONFIG` are resolved against.
    public var currentDirectory: String
    /// The file system root under which the in-cluster service account files are looked for
    /// (`var/run/secrets/kubernetes.io/serviceaccount/…`); `/` outside tests.
    public var inClusterRoot: String
    /// Wall-clock time, for exec credential expiry and token file refresh.
    public var clock: @Sendable () -> Date
    /// How long an exec credential plugin may run before it is killed, in seconds.
    public var execTimeout: Double

    public init(
        variables: [String: String] = [:], homeDirectory: String, currentDirectory: String = "/",
        inClusterRoot: String = "/", clock: @escaping @Sendable () -> Date = { Date() }, execTimeout: Double = 60
    ) {
        self.variables = variables
        self.homeDirectory = homeDirectory
        self.currentDirectory = currentDirectory
        self.inClusterRoot = inClusterRoot
        self.clock = clock
        self.execTimeout = execTimeout
    }

    /// The real environment of this process.
    public static var current: KubeEnvironment {
        let variables = ProcessInfo.processInfo.environment
        let home = variables["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
        return KubeEnvironment(
            variables: variables, homeDirectory: home,
            currentDirectory: FileManager.default.currentDirectoryPath)
    }

    /// A non-empty environment variable.
    func variable(_ name: String) -> String? {
        guard let v = variables[name], !v.isEmpty else { return nil }
        return v
    }

    /// `path` with a leading `~` replaced by the home directory and made absolute against `directory`
    /// (default: the current directory), then cleaned lexically.
    func resolvePath(_ path: String, relativeTo directory: String? = nil) -> String {
        var p = path
        if p == "~" {
            p = homeDirectory
        } else if p.hasPrefix("~/") {
            p = homeDirectory + p.dropFirst(1)
        }
        if !p.hasPrefix("/") { p = (directory ?? currentDirectory) + "/" + p }
        return KubePath.clean(p)
    }
}

/// Lexical path helpers (no file system access).
enum KubePath {
    /// Like Go's `filepath.Clean` for absolute paths: collapses `//`, `.` and `..`.
    static func clean(_ path: String) -> String {
        let absolute = path.hasPrefix("/")
        var parts: [Substring] = []
        for part in path.split(separator: "/", omittingEmptySubsequences: true) {
            if part == "." { continue }
            if part == ".." {
                if let last = parts.last, last != ".." {
                    parts.removeLast()
                } else if !absolute {
                    parts.append(part)
                }
                continue
            }
            parts.append(part)
        }
        let joined = parts.joined(separator: "/")
        if absolute { return "/" + joined }
        return joined.isEmpty ? "." : joined
    }

    /// The directory part of a path, `/` for a file in the root.
    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        let dir = path[..<slash]
        return dir.isEmpty ? "/" : String(dir)
    }
}

/// What `stat` says about a file, enough to notice that it was replaced or rewritten.
struct KubeFileStatus: Sendable, Hashable {
    var device: UInt64
    var inode: UInt64
    var size: Int64
    var modificationSeconds: Int64
    var modificationNanoseconds: Int64
    var isDirectory: Bool
    var isRegularFile: Bool
}

/// A file could not be read; `reason` is the system's explanation (`No such file or directory`, …).
struct KubeFileError: Error, Sendable {
    var path: String
    var reason: String
    var doesNotExist: Bool
}

/// `read(2)`, named apart from `KubeFiles.read`.
func posixRead(_ fd: Int32, _ buffer: UnsafeMutableRawPointer?, _ count: Int) -> Int {
    read(fd, buffer, count)
}

/// Small, blocking file helpers with errno-based explanations.
enum KubeFiles {
    static func status(_ path: String) -> KubeFileStatus? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        #if canImport(Darwin)
        let mtime = st.st_mtimespec
        #else
        let mtime = st.st_mtim
        #endif
        let type = st.st_mode & S_IFMT
        return KubeFileStatus(
            device: UInt64(st.st_dev), inode: UInt64(st.st_ino), size: Int64(st.st_size),
            modificationSeconds: Int64(mtime.tv_sec), modificationNanoseconds: Int64(mtime.tv_nsec),
            isDirectory: type == S_IFDIR, isRegularFile: type == S_IFREG)
    }

    static func exists(_ path: String) -> Bool { status(path) != nil }

    /// A regular file this process may execute.
    static func isExecutableFile(_ path: String) -> Bool {
        guard let s = status(path), s.isRegularFile else { return false }
        return access(path, X_OK) == 0
    }

    /// Reads a whole file, refusing directories and files larger than `limit` bytes.
    static func read(_ path: String, limit: Int = 64 << 20) throws(KubeFileError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            let code = errno
            throw KubeFileError(path: path, reason: reason(code), doesNotExist: code == ENOENT)
        }
        defer { close(fd) }
        var st = stat()
        if fstat(fd, &st) == 0, st.st_mode & S_IFMT == S_IFDIR {
            throw KubeFileError(path: path, reason: "is a directory", doesNotExist: false)
        }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            let n = chunk.withUnsafeMutableBytes { posixRead(fd, $0.baseAddress, $0.count) }
            if n == 0 { break }
            if n < 0 {
                if errno == EINTR { continue }
                throw KubeFileError(path: path, reason: reason(errno), doesNotExist: false)
            }
            bytes.append(contentsOf: chunk[0..<n])
            if bytes.count > limit {
                throw KubeFileError(path: path, reason: "larger than \(limit) bytes", doesNotExist: false)
            }
        }
        return bytes
    }

    static func reason(_ code: Int32) -> String {
        guard let s = strerror(code) else { return "error \(code)" }
        return String(cString: s)
    }
}

/// Base64 as Go's `encoding/base64.StdEncoding` reads it inside JSON/YAML: padding required, line breaks ignored.
enum KubeBase64 {
    static func decode(_ text: String) -> [UInt8]? {
        var cleaned = String.UnicodeScalarView()
        for u in text.unicodeScalars where u != "\n" && u != "\r" && u != " " && u != "\t" {
            cleaned.append(u)
        }
        guard let data = Data(base64Encoded: String(cleaned)) else { return nil }
        return [UInt8](data)
    }

    static func encode(_ bytes: [UInt8]) -> String { Data(bytes).base64EncodedString() }
}
