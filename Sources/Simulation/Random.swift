import Foundation

/// SplitMix64: seeds other generators and hashes integers (Steele, Lea and Flood, 2014).
public struct SplitMix64: RandomNumberGenerator, Sendable {
    public var state: UInt64
    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return Self.mix(state)
    }

    /// The SplitMix64 finaliser: a bijective 64-bit hash.
    public static func mix(_ x: UInt64) -> UInt64 {
        var z = x
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// xoshiro256** (Blackman and Vigna): the simulator's deterministic PRNG. The same seed gives the same
/// sequence on every platform; all samplers below use only this generator's bits (never the stdlib's
/// `random(in:using:)`, whose algorithm is not guaranteed to stay the same).
public struct SimRandom: RandomNumberGenerator, Sendable {
    private var s: (UInt64, UInt64, UInt64, UInt64)

    public init(seed: UInt64) {
        var sm = SplitMix64(seed: seed)
        s = (sm.next(), sm.next(), sm.next(), sm.next())
    }

    public mutating func next() -> UInt64 {
        let result = ((s.1 &* 5) << 7 | (s.1 &* 5) >> 57) &* 9
        let t = s.1 << 17
        s.2 ^= s.0
        s.3 ^= s.1
        s.1 ^= s.2
        s.0 ^= s.3
        s.2 ^= t
        s.3 = s.3 << 45 | s.3 >> 19
        return result
    }

    /// A generator for an independent sub-stream (e.g. one per workload component).
    public mutating func fork() -> SimRandom { SimRandom(seed: next()) }

    /// Uniform in [0, 1) with 53 random bits.
    public mutating func uniform() -> Double { Double(next() >> 11) * 0x1.0p-53 }

    /// Uniform in (0, 1].
    public mutating func uniformPositive() -> Double { Double((next() >> 11) + 1) * 0x1.0p-53 }

    /// Uniform integer in 0..<n (Lemire's nearly-divisionless method).
    public mutating func below(_ n: Int) -> Int {
        precondition(n > 0)
        let bound = UInt64(n)
        var m = next().multipliedFullWidth(by: bound)
        if m.low < bound {
            let threshold = (0 &- bound) % bound
            while m.low < threshold { m = next().multipliedFullWidth(by: bound) }
        }
        return Int(m.high)
    }

    /// Exponential with the given rate (mean 1/rate).
    public mutating func exponential(rate: Double) -> Double { -log(uniformPositive()) / rate }

    /// Standard normal (Box–Muller; one of the pair is discarded to keep the state simple).
    public mutating func normal() -> Double {
        sqrt(-2 * log(uniformPositive())) * cos(2 * Double.pi * uniform())
    }
}
