import Foundation
import YAML

/// The parametric profile file format of `samples/profiles/*.yaml`: one hardware type, several (model, TP)
/// entries.
public struct ProfileFile: Codable, Sendable, Hashable {
    public var hardware: String
    public var gpuMemoryGiB: Double?
    public var profiles: [Entry]

    public struct Entry: Codable, Sendable, Hashable {
        public var model: String
        public var tensorParallel: Int
        public var kvBytesPerToken: Int?
        public var kvCapacityTokens: Int?
        public var mixedBatchFactor: Double?
        public var prefill: Prefill
        public var decode: Decode
    }

    /// Prefill: the base throughput (tokens/s) at batch-token counts (time = batchTokens / tokensPerSecond,
    /// linear in between), plus `attentionMsPerSquaredToken` × Σ prompt² and `perPromptMs` × prompts (both
    /// default 0: prefill by batch tokens alone, as profiles before these fields).
    public struct Prefill: Codable, Sendable, Hashable {
        public var batchTokens: [Int]
        public var tokensPerSecond: [Double]
        public var attentionMsPerSquaredToken: Double?
        public var perPromptMs: Double?
    }

    /// Decode step time (ms) at batch sizes, at `referenceContextTokens` of context per request; the context
    /// effect either as a factor curve over context per request (`contextTokens` → `contextFactor`, 1 at the
    /// reference; the step time is multiplied by it at the batch's mean context) or, in older profiles, as
    /// `contextMsPerToken` for each context token beyond the reference. Not both.
    public struct Decode: Codable, Sendable, Hashable {
        public var batchSize: [Int]
        public var stepMs: [Double]
        public var referenceContextTokens: Double?
        public var contextMsPerToken: Double?
        public var contextTokens: [Int]?
        public var contextFactor: [Double]?
    }
}

/// A malformed profile file.
public struct ProfileError: Error, Sendable, Hashable, CustomStringConvertible {
    public var source: String
    public var message: String
    public var description: String { "\(source): \(message)" }
}

extension HardwareProfile {
    /// Parses a parametric profile file (see `samples/profiles/`) into one profile per (model, TP) entry.
    /// Strict: an unknown key (`decode.stepMS`) is an error with its line and the nearest valid key.
    public static func fromYAML(_ text: String, source: String = "<memory>") throws -> [HardwareProfile] {
        let file: ProfileFile
        do {
            file = try YAML.decode(ProfileFile.self, from: text, strict: true)
        } catch {
            throw ProfileError(source: source, message: "\(error)")
        }
        return try file.profiles.enumerated().map { i, e in
            let at = "profiles[\(i)] (\(e.model), TP\(e.tensorParallel))"
            func fail(_ m: String) -> ProfileError { ProfileError(source: source, message: "\(at): \(m)") }
            guard e.tensorParallel > 0 else { throw fail("tensorParallel must be positive") }
            let p = e.prefill
            guard !p.batchTokens.isEmpty, p.batchTokens.count == p.tokensPerSecond.count else {
                throw fail("prefill.batchTokens and prefill.tokensPerSecond must be non-empty and of equal length")
            }
            guard p.batchTokens.allSatisfy({ $0 > 0 }), p.tokensPerSecond.allSatisfy({ $0 > 0 && $0.isFinite }),
                Set(p.batchTokens).count == p.batchTokens.count
            else { throw fail("prefill points must be positive with distinct batchTokens") }
            let d = e.decode
            guard !d.batchSize.isEmpty, d.batchSize.count == d.stepMs.count else {
                throw fail("decode.batchSize and decode.stepMs must be non-empty and of equal length")
            }
            guard d.batchSize.allSatisfy({ $0 > 0 }), d.stepMs.allSatisfy({ $0 > 0 && $0.isFinite }),
                Set(d.batchSize).count == d.batchSize.count
            else { throw fail("decode points must be positive with distinct batchSize") }
            let attention = p.attentionMsPerSquaredToken ?? 0, perPrompt = p.perPromptMs ?? 0
            guard attention >= 0, attention.isFinite, perPrompt >= 0, perPrompt.isFinite else {
                throw fail("prefill.attentionMsPerSquaredToken and prefill.perPromptMs must be non-negative")
            }
            var factor: PiecewiseLinear?
            switch (d.contextTokens, d.contextFactor) {
            case (nil, nil): break
            case let (tokens?, factors?):
                guard !tokens.isEmpty, tokens.count == factors.count, tokens.allSatisfy({ $0 > 0 }),
                    Set(tokens).count == tokens.count, factors.allSatisfy({ $0 > 0 && $0.isFinite })
                else {
                    throw fail(
                        "decode.contextTokens and decode.contextFactor must be non-empty, of equal length, positive, "
                            + "with distinct contextTokens")
                }
                guard d.contextMsPerToken == nil else {
                    throw fail("decode.contextFactor and decode.contextMsPerToken are alternatives: give one")
                }
                factor = PiecewiseLinear(points: zip(tokens, factors).map { (x: Double($0), y: $1) })
            default:
                throw fail("decode.contextTokens and decode.contextFactor go together")
            }
            let prefill = zip(p.batchTokens, p.tokensPerSecond).map { (x: Double($0), y: Double($0) / $1) }
            let decode = zip(d.batchSize, d.stepMs).map { (x: Double($0), y: $1 / 1000) }
            return HardwareProfile(
                model: e.model, hardware: file.hardware, tensorParallel: e.tensorParallel,
                prefill: PiecewiseLinear(points: prefill), prefillSecondsPerSquaredToken: attention / 1000,
                prefillSecondsPerPrompt: perPrompt / 1000, decode: PiecewiseLinear(points: decode),
                decodeReferenceContext: d.referenceContextTokens ?? 0, decodeContextFactor: factor,
                decodeSecondsPerContextToken: (d.contextMsPerToken ?? 0) / 1000,
                mixedBatchFactor: e.mixedBatchFactor ?? 1.1, kvCapacityTokens: e.kvCapacityTokens,
                kvBytesPerToken: e.kvBytesPerToken, gpuMemoryGiB: file.gpuMemoryGiB)
        }
    }

    /// Reads a parametric profile file.
    public static func fromYAML(path: String) throws -> [HardwareProfile] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ProfileError(source: path, message: "cannot read the file")
        }
        return try fromYAML(String(decoding: data, as: UTF8.self), source: path)
    }
}

extension PerformanceModel {
    /// Loads every profile of a parametric profile file.
    public static func load(yaml text: String, source: String = "<memory>") throws -> PerformanceModel {
        PerformanceModel(profiles: try HardwareProfile.fromYAML(text, source: source))
    }

    /// Adds the profiles of another model (later ones replace earlier ones with the same key). A replacing
    /// profile without memory figures (a profiled CSV table has timings only) keeps the replaced one's KV
    /// capacity, KV bytes per token and GPU memory, so `profiles: [h100.yaml, table.csv]` gives the table's
    /// timings with the parametric profile's memory.
    public mutating func merge(_ other: PerformanceModel) {
        for var p in other.profiles.values {
            if let old = profiles[p.key] {
                p.kvCapacityTokens = p.kvCapacityTokens ?? old.kvCapacityTokens
                p.kvBytesPerToken = p.kvBytesPerToken ?? old.kvBytesPerToken
                p.gpuMemoryGiB = p.gpuMemoryGiB ?? old.gpuMemoryGiB
            }
            add(p)
        }
    }
}
