import Foundation
import KubeClient

// Shared by the test targets (a plain target that only tests depend on).

/// A child process for tests (a real peer: openssl s_server, a Python HTTP server). Its output is read line by
/// line so a test can wait for the peer to say it is listening instead of sleeping.
public final class TestProcess: Sendable {
    public let process: Process
    private let lines = Locked<(buffer: [String], partial: String, waiters: [(String, CheckedContinuation<String, any Error>)], ended: Bool)>(([], "", [], false))

    public init(_ executable: String, _ arguments: [String], directory: URL? = nil, environment: [String: String]? = nil) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = arguments
        if let directory { p.currentDirectoryURL = directory }
        if let environment { p.environment = environment }
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        p.standardInput = FileHandle.nullDevice
        process = p
        pipe.fileHandleForReading.readabilityHandler = { [weak self] handle in
            let data = handle.availableData
            self?.receive(data)
        }
        try p.run()
    }

    private func receive(_ data: Data) {
        let ready: [(CheckedContinuation<String, any Error>, Result<String, any Error>)] = lines.withLock { s in
            if data.isEmpty {
                s.ended = true
                defer { s.waiters = [] }
                return s.waiters.map { ($0.1, .failure(TestProcessError.ended(output: s.buffer.joined(separator: "\n")))) }
            }
            s.partial += String(decoding: data, as: UTF8.self)
            while let nl = s.partial.firstIndex(of: "\n") {
                s.buffer.append(String(s.partial[..<nl]))
                s.partial = String(s.partial[s.partial.index(after: nl)...])
            }
            var out: [(CheckedContinuation<String, any Error>, Result<String, any Error>)] = []
            s.waiters.removeAll { w in
                if let line = s.buffer.first(where: { $0.contains(w.0) }) {
                    out.append((w.1, .success(line)))
                    return true
                }
                return false
            }
            return out
        }
        for (c, r) in ready { c.resume(with: r) }
    }

    /// Waits for an output line containing `text` (already printed or yet to come) and returns it.
    public func waitForLine(containing text: String) async throws -> String {
        try await withCheckedThrowingContinuation { cont in
            let result: Result<String, any Error>? = lines.withLock { s in
                if let line = s.buffer.first(where: { $0.contains(text) }) { return .success(line) }
                if s.ended { return .failure(TestProcessError.ended(output: s.buffer.joined(separator: "\n"))) }
                s.waiters.append((text, cont))
                return nil
            }
            if let result { cont.resume(with: result) }
        }
    }

    public var output: String { lines.withLock { $0.buffer.joined(separator: "\n") + $0.partial } }

    /// Waits, without blocking a thread, until the process has exited and its output has reached end of file,
    /// or `seconds` pass. The end of file can come late or never when another child process spawned at the
    /// same moment inherited the pipe's write end (a Foundation-on-Linux race), so it is bounded; the exit is
    /// what the caller needs, the output read by then is what it gets.
    public func waitForExit(seconds: Double = 30) async {
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning && Date() < deadline { try? await Task.sleep(for: .milliseconds(10)) }
        let eofDeadline = min(deadline, Date().addingTimeInterval(2))
        while !lines.withLock({ $0.ended }) && Date() < eofDeadline { try? await Task.sleep(for: .milliseconds(10)) }
    }

    /// Kills the peer. SIGKILL, because a child spawned from a test runner thread inherits a signal mask that
    /// blocks SIGTERM (seen with Swift Testing on Linux), so `terminate()` would never be delivered. Waits for
    /// the exit by polling `isRunning` (bounded, 10 s) rather than `waitUntilExit()`, which spins a run loop on
    /// the calling thread: a CI run crashed in libdispatch's manager thread while one did so from a test's
    /// `defer` on a cooperative-pool thread.
    public func stop() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        let deadline = Date().addingTimeInterval(10)
        while process.isRunning && Date() < deadline { usleep(5_000) }
    }

    deinit { stop() }
}

public enum TestProcessError: Error, CustomStringConvertible {
    case ended(output: String)
    case failed(command: String, status: Int32, output: String)
    public var description: String {
        switch self {
        case .ended(let o): return "the process ended before printing the expected line; output:\n\(o)"
        case let .failed(c, s, o): return "\(c) exited with \(s):\n\(o)"
        }
    }
}

/// Runs a command to completion and returns its output; throws on a non-zero exit.
@discardableResult
public func runCommand(_ executable: String, _ arguments: [String], directory: URL? = nil) throws -> String {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: executable)
    p.arguments = arguments
    if let directory { p.currentDirectoryURL = directory }
    let pipe = Pipe()
    p.standardOutput = pipe
    p.standardError = pipe
    try p.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    let out = String(decoding: data, as: UTF8.self)
    guard p.terminationStatus == 0 else {
        throw TestProcessError.failed(command: ([executable] + arguments).joined(separator: " "), status: p.terminationStatus, output: out)
    }
    return out
}

/// A fresh temporary directory, removed by `cleanup()`.
public struct TestDirectory: Sendable {
    public let url: URL
    public init(_ prefix: String = "heteroscale-test") throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }
    public func path(_ name: String) -> String { url.appendingPathComponent(name).path }
    public func write(_ name: String, _ text: String, mode: Int? = nil) throws {
        try text.write(toFile: path(name), atomically: true, encoding: .utf8)
        if let mode { try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path(name)) }
    }
    public func read(_ name: String) throws -> [UInt8] { Array(try Data(contentsOf: url.appendingPathComponent(name))) }
    public func cleanup() { try? FileManager.default.removeItem(at: url) }
}

/// Finds an executable on PATH (tests use the machine's real openssl and python3).
public func which(_ name: String) -> String? {
    for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
        let p = "\(dir)/\(name)"
        if FileManager.default.isExecutableFile(atPath: p) { return p }
    }
    return nil
}
