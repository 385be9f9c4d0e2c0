/// A position in a kubeconfig file, 1-based.
public struct KubeconfigMark: Sendable, Hashable, CustomStringConvertible {
    public var line: Int
    public var column: Int
    public init(line: Int, column: Int) {
        self.line = line
        self.column = column
    }
    public var description: String { "line \(line), column \(column)" }
}

/// Why a client configuration could not be loaded.
///
/// The description reads `FILE: line L, column C: FIELD.PATH: what is wrong`, leaving out the parts that are not
/// known. It never contains the value of a field: tokens, passwords and keys stay out of every message.
public struct KubeconfigError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Code: String, Sendable, Hashable {
        /// An explicitly named kubeconfig file does not exist.
        case fileNotFound
        /// A file (kubeconfig, certificate, key, token) exists but cannot be read.
        case fileUnreadable
        /// The file is not YAML, or not shaped like a kubeconfig (wrong types, bad base64, duplicate names).
        case malformed
        /// A field of the selected cluster or user has a value that cannot be used.
        case invalidField
        /// Neither a kubeconfig nor an in-cluster environment was found.
        case noConfiguration
        /// No `current-context` is set and no context was named.
        case noCurrentContext
        case contextNotFound
        case clusterNotFound
        case userNotFound
        /// The in-cluster service account environment is incomplete.
        case inCluster
    }

    public var code: Code
    /// The file the problem is in, when there is one.
    public var file: String?
    /// Where in `file`, when known.
    public var mark: KubeconfigMark?
    /// The field, in the syntax `users[0].user.token`, when the problem is with one field.
    public var fieldPath: String?
    /// What is wrong. Never contains a credential.
    public var message: String

    public init(
        _ code: Code, file: String? = nil, mark: KubeconfigMark? = nil, fieldPath: String? = nil, message: String
    ) {
        self.code = code
        self.file = file
        self.mark = mark
        self.fieldPath = fieldPath
        self.message = message
    }

    public var description: String {
        var prefix: [String] = []
        if let file { prefix.append(file) }
        if let mark { prefix.append(mark.description) }
        if let fieldPath, !fieldPath.isEmpty { prefix.append(fieldPath) }
        return prefix.isEmpty ? message : prefix.joined(separator: ": ") + ": " + message
    }
}
