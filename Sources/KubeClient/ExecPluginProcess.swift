import Dispatch
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Runs a credential plugin on a dedicated thread (never blocking the cooperative pool): stdin is `/dev/null`,
/// stdout and stderr are collected with `poll` up to a size limit, and the process is killed at the deadline.
enum ExecPluginProcess {
    static let stdoutLimit = 4 << 20
    static let stderrLimit = 64 << 10

    struct Result: Sendable {
        var exitCode: Int32
        /// Set when the process was ended by a signal.
        var signal: Int32?
        var stdout: [UInt8]
        var stdoutTruncated: Bool
        var stderr: [UInt8]
        var timedOut: Bool
    }

    struct LaunchError: Error, Sendable {
        var reason: String
    }

    static func run(
        executable: String, arguments: [String], environment: [String: String], timeout: Double
    ) async throws -> Result {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Result, any Error>) in
            let thread = Thread {
                continuation.resume(with: Swift.Result {
                    try runBlocking(executable: executable, arguments: arguments, environment: environment, timeout: timeout)
                })
            }
            thread.name = "exec-credential-plugin"
            thread.start()
        }
    }

    static func runBlocking(
        executable: String, arguments: [String], environment: [String: String], timeout: Double
    ) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = environment
        process.standardInput = FileHandle.nullDevice
        let outPipe = Pipe()
        let errPipe = Pipe()
        process.standardOutput = outPipe
        process.standardError = errPipe
        do {
            try process.run()
        } catch {
            throw LaunchError(reason: (error as NSError).localizedDescription)
        }
        // Our copies of the write ends must be closed, or reading never sees end-of-file.
        try? outPipe.fileHandleForWriting.close()
        try? errPipe.fileHandleForWriting.close()
        defer {
            try? outPipe.fileHandleForReading.close()
            try? errPipe.fileHandleForReading.close()
        }

        let start = DispatchTime.now().uptimeNanoseconds
        let deadline = start + UInt64(max(timeout, 0) * 1e9)
        var result = Result(exitCode: 0, signal: nil, stdout: [], stdoutTruncated: false, stderr: [], timedOut: false)
        var fds = [
            pollfd(fd: outPipe.fileHandleForReading.fileDescriptor, events: Int16(POLLIN), revents: 0),
            pollfd(fd: errPipe.fileHandleForReading.fileDescriptor, events: Int16(POLLIN), revents: 0),
        ]
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        // After the process exits, output still in the pipes is drained; a grandchild that keeps the pipes
        // open is not waited for longer than this.
        var exitedAt: UInt64?
        while fds.contains(where: { $0.fd >= 0 }) {
            let now = DispatchTime.now().uptimeNanoseconds
            if now >= deadline {
                result.timedOut = true
                break
            }
            if exitedAt == nil, !process.isRunning { exitedAt = now }
            if let exitedAt, now - exitedAt > 1_000_000_000 { break }
            let waitMs = Int32(min(100, (deadline - now) / 1_000_000 + 1))
            let ready = poll(&fds, nfds_t(fds.count), waitMs)
            if ready < 0 {
                if errno == EINTR { continue }
                break
            }
            if ready == 0 { continue }
            for i in fds.indices where fds[i].fd >= 0 && fds[i].revents != 0 {
                let n = buffer.withUnsafeMutableBytes { read(fds[i].fd, $0.baseAddress, $0.count) }
                if n > 0 {
                    if i == 0 {
                        if result.stdout.count + n > stdoutLimit {
                            result.stdoutTruncated = true
                        } else {
                            result.stdout.append(contentsOf: buffer[0..<n])
                        }
                    } else if result.stderr.count < stderrLimit {
                        result.stderr.append(contentsOf: buffer[0..<min(n, stderrLimit - result.stderr.count)])
                    }
                } else if n == 0 || (errno != EINTR && errno != EAGAIN) {
                    fds[i].fd = -1  // end of file (or a broken pipe): stop polling it
                }
                fds[i].revents = 0
            }
        }

        if result.timedOut && process.isRunning {
            process.terminate()
            let graceEnd = DispatchTime.now().uptimeNanoseconds + 2_000_000_000
            while process.isRunning && DispatchTime.now().uptimeNanoseconds < graceEnd { usleep(10_000) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        }
        process.waitUntilExit()
        if process.terminationReason == .uncaughtSignal {
            result.signal = process.terminationStatus
            result.exitCode = -1
        } else {
            result.exitCode = process.terminationStatus
        }
        return result
    }
}
