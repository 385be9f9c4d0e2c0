import Foundation
import Testing
@testable import Simulation

/// `CSVText` must write exactly what `String(format: "%.6g")` and `String(_: Int)` write: the outputs stay
/// byte-identical to the Foundation formatting they replaced.
@Suite struct CSVTextTests {
    @Test(arguments: [
        0.0, -0.0, 1, -1, 0.1, 0.5, 2.5, 100, 123456, 1234567, 999999.4, 999999.5, 999999.6, 9999995, 1234565,
        0.1234565, 123456.5, 0.0001, 0.00001, 0.000099999995, 9.9999950000000001e-5, 1e16, 1e100, 1e-100, 5e-324,
        2.2250738585072014e-308, 1.7976931348623157e308, 35.38, 0.035375, 3.14159265, -0.0042, .infinity, -.infinity,
        .nan,
    ])
    func edgeCasesMatchPrintf(_ x: Double) {
        #expect(CSVText.g6(x) == String(format: "%.6g", x))
    }

    @Test func seededValuesMatchPrintf() {
        var rng = SimRandom(seed: 7)
        var mismatches: [Double] = []
        for i in 0..<30_000 {
            let x: Double
            switch i % 3 {
            case 0: x = (1 + 9 * rng.uniform()) * pow(10, (rng.uniform() * 24 - 12).rounded()) * (i % 2 == 0 ? 1 : -1)
            case 1: x = Double(rng.below(10_000_000)) / pow(10, Double(rng.below(13)))  // short decimals: ties
            default: x = rng.uniform() * 3600  // times of a run
            }
            if CSVText.g6(x) != String(format: "%.6g", x) { mismatches.append(x) }
        }
        #expect(mismatches.isEmpty, "first mismatches: \(mismatches.prefix(5))")
    }

    @Test(arguments: [0, 7, 10, 99, 123_456_789, -5, Int.max, Int.min])
    func integersMatchString(_ n: Int) {
        var bytes: [UInt8] = []
        CSVText.appendInt(n, to: &bytes)
        #expect(String(decoding: bytes, as: UTF8.self) == String(n))
    }

    @Test func fieldsAreTrimmedAsFoundationTrims() {
        let line: Substring = " a ,\tb\u{00A0}, ,c,"
        let foundation = line.split(separator: ",", omittingEmptySubsequences: false).map {
            $0.trimmingCharacters(in: .whitespaces)
        }
        #expect(CSVText.trimmedFields(line) == foundation)
        #expect(CSVText.trimmedFields(line) == ["a", "b", "", "c", ""])
    }
}
