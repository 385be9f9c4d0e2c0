import Testing
import YAML

/// Strict equality: same kinds (1 is not 1.0), same key order, doubles equal bit for bit (any NaN matches),
/// strings equal byte for byte.
func identical(_ a: JSONValue, _ b: JSONValue) -> Bool {
    switch (a, b) {
    case (.null, .null): return true
    case let (.bool(x), .bool(y)): return x == y
    case let (.int(x), .int(y)): return x == y
    case let (.double(x), .double(y)): return x.bitPattern == y.bitPattern || (x.isNaN && y.isNaN)
    case let (.string(x), .string(y)): return x.utf8.elementsEqual(y.utf8)
    case let (.array(x), .array(y)):
        return x.count == y.count && zip(x, y).allSatisfy { identical($0, $1) }
    case let (.object(x), .object(y)):
        return x.count == y.count
            && zip(x.entries, y.entries).allSatisfy { $0.key.utf8.elementsEqual($1.key.utf8) && identical($0.value, $1.value) }
    default: return false
    }
}

/// Parses, dumps and parses again; the two parses must be identical.
func expectRoundTrip(_ value: JSONValue, sourceLocation: SourceLocation = #_sourceLocation) {
    let text = YAML.dump(value)
    do {
        let back = try YAML.load(text)
        #expect(identical(back, value), "round trip changed the value:\n\(text)", sourceLocation: sourceLocation)
    } catch {
        Issue.record("dumped text does not parse: \(error)\n\(text)", sourceLocation: sourceLocation)
    }
}

/// A small deterministic generator (SplitMix64).
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Wall-clock seconds taken by a body.
func seconds(_ body: () throws -> Void) rethrows -> Double {
    let clock = ContinuousClock()
    let d = try clock.measure(body)
    return Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
}

/// Pieces that matter to YAML and JSON: indicators, line breaks, quotes, schema words, special characters.
let trickyPieces: [String] = [
    "a", "Z", "0", "1", " ", "  ", "\n", "\n\n", "\t", "\r", ":", ": ", " #", "#", "-", "- ", "?", ",", "[", "]", "{",
    "}", "&", "*", "!", "|", ">", "'", "\"", "%", "@", "`", "\\", ".", "e", "x", "~", "null", "true", "yes", "<<",
    "---", "...", "é", "😀", "\u{85}", "\u{2028}", "\u{FEFF}", "\u{7F}", "\u{0}", "_", "+", ".inf", "0x", "\u{A0}",
    "\u{3000}", "\u{1F}",
]

func randomString(using rng: inout SplitMix64) -> String {
    let long = Int.random(in: 0...10, using: &rng) == 0
    var s = ""
    for _ in 0..<Int.random(in: 0...(long ? 100 : 8), using: &rng) { s += trickyPieces.randomElement(using: &rng)! }
    return s
}

/// A random value tree: all kinds, random double bit patterns (NaN and infinities included), tricky strings.
func randomValue(depth: Int = 0, using rng: inout SplitMix64) -> JSONValue {
    switch Int.random(in: 0...(depth > 4 ? 5 : 8), using: &rng) {
    case 0: return .null
    case 1: return .bool(Bool.random(using: &rng))
    case 2: return .int(Int64.random(in: .min ... .max, using: &rng))
    case 3: return .double(Double(bitPattern: rng.next()))
    case 4, 5: return .string(randomString(using: &rng))
    case 6: return .array((0..<Int.random(in: 0...4, using: &rng)).map { _ in randomValue(depth: depth + 1, using: &rng) })
    default:
        var o = JSONObject()
        for _ in 0..<Int.random(in: 0...4, using: &rng) { o[randomString(using: &rng)] = randomValue(depth: depth + 1, using: &rng) }
        return .object(o)
    }
}
