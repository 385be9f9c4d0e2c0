import Foundation
import Testing

@testable import Simulation

struct TraceFacts: Sendable, CustomStringConvertible {
    var file: String
    var count: Int
    var first: (prompt: Int, output: Int)
    var last: (prompt: Int, output: Int, arrival: Double)
    var promptMean: Double, outputMean: Double
    var promptMax: Int, outputMax: Int
    var promptMedian: Double, outputMedian: Double
    var description: String { file }
}

@Suite struct TraceReaderTests {
    static let azure: [TraceFacts] = [
        TraceFacts(
            file: "AzureLLMInferenceTrace_conv.csv", count: 19_366, first: (374, 44),
            last: (197, 183, 3501.7219370), promptMean: 1154.7, outputMean: 211.1, promptMax: 14_050,
            outputMax: 1000, promptMedian: 1020, outputMedian: 129),
        TraceFacts(
            file: "AzureLLMInferenceTrace_code.csv", count: 8_819, first: (4808, 10),
            last: (549, 173, 3435.9480560), promptMean: 2047.8, outputMean: 27.9, promptMax: 7437,
            outputMax: 1899, promptMedian: 1469, outputMedian: 13),
    ]

    @Test(arguments: azure)
    func azureTraceOnRealFile(_ facts: TraceFacts) throws {
        var reader = try AzureTraceReader(path: Paths.sharedData(facts.file))
        var count = 0
        var promptSum = 0
        var outputSum = 0
        var promptMax = 0
        var outputMax = 0
        var prompts: [Int] = []
        var outputs: [Int] = []
        var first: Request?
        var last: Request?
        var previous = -1.0
        while let r = try reader.next() {
            if first == nil { first = r }
            #expect(r.id == count)
            #expect(r.arrival >= previous)
            previous = r.arrival
            count += 1
            promptSum += r.promptTokens
            outputSum += r.outputTokens
            promptMax = max(promptMax, r.promptTokens)
            outputMax = max(outputMax, r.outputTokens)
            prompts.append(r.promptTokens)
            outputs.append(r.outputTokens)
            last = r
        }
        #expect(count == facts.count)
        let f = try #require(first)
        #expect(f.arrival == 0)
        #expect(f.promptTokens == facts.first.prompt && f.outputTokens == facts.first.output)
        let l = try #require(last)
        #expect(l.promptTokens == facts.last.prompt && l.outputTokens == facts.last.output)
        #expect(l.arrival == facts.last.arrival)
        #expect(reader.lastRelativeTicks == Int64((facts.last.arrival * 1e7).rounded()))
        #expect(abs(Double(promptSum) / Double(count) - facts.promptMean) < 0.1)
        #expect(abs(Double(outputSum) / Double(count) - facts.outputMean) < 0.1)
        #expect(promptMax == facts.promptMax && outputMax == facts.outputMax)
        prompts.sort()
        outputs.sort()
        func median(_ a: [Int]) -> Double {
            a.count % 2 == 1 ? Double(a[a.count / 2]) : Double(a[a.count / 2 - 1] + a[a.count / 2]) / 2
        }
        #expect(median(prompts) == facts.promptMedian)
        #expect(median(outputs) == facts.outputMedian)
        #expect(try TraceFormat.detect(path: Paths.sharedData(facts.file)) == .azure)
    }

    @Test func azureTimestampsAreExactTo100ns() throws {
        let text = """
            TIMESTAMP,ContextTokens,GeneratedTokens
            2023-11-16 18:15:46.6805900,374,44
            2023-11-16 18:15:50.9951690,396,109
            2023-11-16 18:15:50.9951691,1,1
            2023-11-17 00:00:00,2,2
            2024-03-01 00:00:00.5,3,3
            """
        var reader = try AzureTraceReader(text: text)
        let rows = try reader.collect()
        #expect(rows.map(\.arrival) == [0, 4.3145790, 4.3145791, 20_653.3194100, 9_092_653.8194100])
        #expect(reader.lastRelativeTicks == 90_926_538_194_100)
        #expect(rows.map(\.id) == [0, 1, 2, 3, 4])
        #expect(AzureTraceReader.parseTimestamp(ArraySlice("1970-01-01 00:00:00.0000001".utf8)) == 1)
        #expect(AzureTraceReader.parseTimestamp(ArraySlice("2023-02-29 00:00:00".utf8)) == nil)
        #expect(AzureTraceReader.parseTimestamp(ArraySlice("2023-11-16 18:15:46.68059001".utf8)) == nil)
    }

    @Test func readingIsStreamedInChunks() throws {
        let path = Paths.sharedData("AzureLLMInferenceTrace_conv.csv")
        let size = try #require(try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
        let reader = try ChunkedLineReader(path: path, chunkSize: 4096)
        var peak = 0
        var longest = 0
        while let line = try reader.nextLine() {
            peak = max(peak, reader.bufferedBytes)
            longest = max(longest, line.count)
        }
        #expect(size > 500_000)
        #expect(peak <= 4096 + longest + 2)
    }

    @Test func chunkBoundariesDoNotMatter() throws {
        // Small chunks split lines and CRLF pairs anywhere.
        let path = Paths.sharedData("AzureLLMInferenceTrace_code.csv")
        let small = try ChunkedLineReader(path: path, chunkSize: 7)
        let large = try ChunkedLineReader(path: path)
        var lines = 0
        while let a = try small.nextLine() {
            #expect(Array(a) == Array(try large.nextLine() ?? []))
            lines += 1
        }
        #expect(try large.nextLine() == nil)
        #expect(lines == 8_820)
        let crlf = ChunkedLineReader(bytes: Array("a,b\r\nc,d\r\n\r\ne".utf8))
        #expect(Array(try crlf.nextLine()!) == Array("a,b".utf8))
        #expect(Array(try crlf.nextLine()!) == Array("c,d".utf8))
        #expect(Array(try crlf.nextLine()!) == [])
        #expect(Array(try crlf.nextLine()!) == Array("e".utf8))
        #expect(try crlf.nextLine() == nil)
    }

    struct BadRow: Sendable, CustomStringConvertible {
        var text: String
        var expected: String
        var description: String { expected }
    }

    static let badAzure: [BadRow] = [
        BadRow(
            text: "TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46.6805900,374,44\n2023-11-16 18:15:47,x1,4\n",
            expected: "t.csv:3: column ContextTokens: expected a non-negative integer, found \"x1\""),
        BadRow(
            text: "TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46.6805900,374,-4\n",
            expected: "t.csv:2: column GeneratedTokens: expected a non-negative integer, found \"-4\""),
        BadRow(
            text: "TIMESTAMP,ContextTokens,GeneratedTokens\n\n2023-13-16 18:15:46,374,4\n",
            expected:
                "t.csv:3: column TIMESTAMP: expected a timestamp like 2023-11-16 18:15:46.6805900, found \"2023-13-16 18:15:46\""
        ),
        BadRow(
            text: "TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46,374,4\n2023-11-16 18:15:45,1,1\n",
            expected: "t.csv:3: column TIMESTAMP: timestamp 2023-11-16 18:15:45 is earlier than the previous row"),
        BadRow(
            text: "TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46,374\n",
            expected: "t.csv:2: expected 3 fields, found 2"),
        BadRow(
            text: "TIMESTAMP,Context,GeneratedTokens\n2023-11-16 18:15:46,374,1\n",
            expected: "t.csv:1: column ContextTokens: missing column (header: TIMESTAMP,Context,GeneratedTokens)"),
    ]

    @Test(arguments: badAzure)
    func azureBadRows(_ bad: BadRow) throws {
        let error = #expect(throws: TraceError.self) {
            var reader = try AzureTraceReader(text: bad.text, name: "t.csv")
            _ = try reader.collect()
        }
        #expect(error?.description == bad.expected)
    }

    static let splitwiseHeader =
        "request_id,request_type,application_id,arrival_timestamp,batch_size,prompt_size,token_size\n"

    @Test func splitwiseTrace() throws {
        let text = Self.splitwiseHeader + """
            0,2,0,0.0,1,512,128
            7,2,0,0.25,1,1024,16
            9,2,1,1.5,1,100,1
            """
        var reader = try SplitwiseTraceReader(text: text)
        let rows = try reader.collect()
        #expect(
            rows == [
                Request(id: 0, arrival: 0, promptTokens: 512, outputTokens: 128),
                Request(id: 7, arrival: 0.25, promptTokens: 1024, outputTokens: 16),
                Request(id: 9, arrival: 1.5, promptTokens: 100, outputTokens: 1),
            ])
        // A leading pandas index column is ignored.
        var indexed = try SplitwiseTraceReader(text: ",\(Self.splitwiseHeader)0,3,2,0,2.0,1,5,6\n")
        #expect(try indexed.collect() == [Request(id: 3, arrival: 2, promptTokens: 5, outputTokens: 6)])
    }

    static let badSplitwise: [BadRow] = [
        BadRow(
            text: splitwiseHeader + "0,2,0,0.0,1,512,128\n1,2,0,abc,1,512,128\n",
            expected: "s.csv:3: column arrival_timestamp: expected a number, found \"abc\""),
        BadRow(
            text: splitwiseHeader + "0,2,0,1.0,1,512,128\n1,2,0,0.5,1,512,128\n",
            expected: "s.csv:3: column arrival_timestamp: arrival 0.5 is earlier than the previous row"),
        BadRow(
            text: splitwiseHeader + "0,2,0,1.0,1,512,1.5\n",
            expected: "s.csv:2: column token_size: expected a non-negative integer, found \"1.5\""),
        BadRow(
            text: "request_id,arrival_timestamp,prompt_size,token_size\n",
            expected:
                "s.csv:1: column request_type: missing column (header: request_id,arrival_timestamp,prompt_size,token_size)"
        ),
    ]

    @Test(arguments: badSplitwise)
    func splitwiseBadRows(_ bad: BadRow) throws {
        let error = #expect(throws: TraceError.self) {
            var reader = try SplitwiseTraceReader(text: bad.text, name: "s.csv")
            _ = try reader.collect()
        }
        #expect(error?.description == bad.expected)
    }

    @Test func missingFileIsAClearError() {
        let error = #expect(throws: TraceError.self) { try AzureTraceReader(path: "/nonexistent/trace.csv") }
        #expect(error?.description == "/nonexistent/trace.csv:0: cannot open the file")
    }
}
