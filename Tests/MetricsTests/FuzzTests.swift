import Foundation
import Testing
import TestSupport
@testable import Metrics


/// The parser must throw `PrometheusTextError` or succeed on any input; it must never trap.
@Suite struct FuzzTests {
    static let interesting = Array("{}\"\\=,# \n\t\r:_le+InfNaN0.9e-".utf8) + [0, 0xFF, 0xC3, 0x80]

    static func parseOrThrowCleanly(_ bytes: [UInt8]) -> Bool {
        do {
            _ = try PrometheusText.parse(bytes)
            return true
        } catch is PrometheusTextError {
            return true
        } catch {
            return false
        }
    }

    @Test(arguments: [1, 2, 3, 4] as [UInt64])
    func mutatedRealPayload(_ seed: UInt64) {
        var rng = SeededRandom(seed: seed)
        let base = Array((VLLMPayload.v08TwoEngines + "\n" + VLLMPayload.render([.init(), .init()])).utf8)
        for round in 0..<150 {
            var bytes = base
            for _ in 0..<Int.random(in: 1...12, using: &rng) {
                guard !bytes.isEmpty else { break }
                let i = Int.random(in: 0..<bytes.count, using: &rng)
                switch Int.random(in: 0..<6, using: &rng) {
                case 0: bytes[i] = UInt8.random(in: 0...255, using: &rng)
                case 1: bytes[i] = Self.interesting.randomElement(using: &rng) ?? 0
                case 2: bytes.insert(Self.interesting.randomElement(using: &rng) ?? 0, at: i)
                case 3: bytes.remove(at: i)
                case 4: bytes = Array(bytes[..<i])
                default:
                    let j = min(bytes.count, i + Int.random(in: 1...80, using: &rng))
                    bytes.insert(contentsOf: bytes[i..<j], at: Int.random(in: 0...bytes.count, using: &rng))
                }
            }
            #expect(Self.parseOrThrowCleanly(bytes), "seed \(seed) round \(round)")
        }
    }

    @Test(arguments: [11, 12] as [UInt64])
    func randomBytes(_ seed: UInt64) {
        var rng = SeededRandom(seed: seed)
        for round in 0..<300 {
            let n = Int.random(in: 0...400, using: &rng)
            let bytes = (0..<n).map { _ in
                Bool.random(using: &rng) ? (Self.interesting.randomElement(using: &rng) ?? 0) : UInt8.random(in: 0...255, using: &rng)
            }
            #expect(Self.parseOrThrowCleanly(bytes), "seed \(seed) round \(round)")
        }
    }

    /// Line-level shuffles keep every line valid but break the grouping rules in many ways.
    @Test func shuffledLines() {
        var rng = SeededRandom(seed: 99)
        let lines = VLLMPayload.v08TwoEngines.split(separator: "\n", omittingEmptySubsequences: false)
        for round in 0..<200 {
            let text = lines.shuffled(using: &rng).prefix(Int.random(in: 1...lines.count, using: &rng)).joined(separator: "\n")
            #expect(Self.parseOrThrowCleanly(Array(text.utf8)), "round \(round)")
        }
    }

    /// Prometheus API responses: malformed JSON never traps either.
    @Test func queryResponses() {
        var rng = SeededRandom(seed: 7)
        let base = Array(#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"pod":"a"},"value":[1712345678.5,"42"]}]}}"#.utf8)
        for _ in 0..<300 {
            var bytes = base
            for _ in 0..<Int.random(in: 1...5, using: &rng) where !bytes.isEmpty {
                bytes[Int.random(in: 0..<bytes.count, using: &rng)] = Self.interesting.randomElement(using: &rng) ?? 0
            }
            _ = PrometheusQuery.parseResponse(bytes)
        }
    }
}
