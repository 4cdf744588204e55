import Foundation
import Glibc
import Ops
import Testing

/// A pipe whose write end a `Log` writes to; the test reads back what arrived.
private final class Pipe {
    let readEnd: Int32
    let writeEnd: Int32

    init() throws {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw POSIXError(.EMFILE) }
        readEnd = fds[0]
        writeEnd = fds[1]
    }

    /// Everything written so far (closes the write end).
    func drain() -> String {
        close(writeEnd)
        var data = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(readEnd, $0.baseAddress, $0.count) }
            guard count > 0 else { break }
            data += buffer.prefix(count)
        }
        return String(decoding: data, as: UTF8.self)
    }

    deinit { close(readEnd) }
}

@Suite("Ops: Log")
struct OpsLogTests {
    @Test func formatsOneLogfmtLinePerEvent() {
        let log = Log(priorityPrefix: false)
        #expect(
            log.line(.info, "campaign started", ["campaign": "c-17", "recipients": 1200])
                == "level=info msg=\"campaign started\" campaign=c-17 recipients=1200\n")
        #expect(log.line(.warning, "paused") == "level=warning msg=paused\n")
    }

    @Test func quotesAndEscapesValuesThatNeedIt() {
        let log = Log(priorityPrefix: false)
        let line = log.line(
            .error, "send failed",
            [
                "reason": "said \"no\"", "path": "C:\\x", "body": "a\nb\tc", "empty": "", "eq": "a=b", "bad key": 1,
                "esc": "\u{1b}[",
            ])
        #expect(
            line
                == "level=error msg=\"send failed\" reason=\"said \\\"no\\\"\" path=\"C:\\\\x\" body=\"a\\nb\\tc\" empty=\"\" eq=\"a=b\" bad_key=1 esc=\"\\u{1b}[\"\n"
        )
        #expect(!line.dropLast().contains("\n"))
    }

    @Test func priorityPrefixFollowsTheFlagOrTheJournalStream() throws {
        #expect(Log(priorityPrefix: true).line(.error, "x") == "<3>level=error msg=x\n")
        #expect(Log(priorityPrefix: true).line(.debug, "x") == "<7>level=debug msg=x\n")
        #expect(Log(priorityPrefix: false).line(.error, "x") == "level=error msg=x\n")

        let pipe = try Pipe()
        var status = stat()
        #expect(fstat(pipe.writeEnd, &status) == 0)
        let matching = "\(status.st_dev):\(status.st_ino)"
        #expect(Log(environment: ["JOURNAL_STREAM": matching], fileDescriptor: pipe.writeEnd).priorityPrefix)
        #expect(!Log(environment: ["JOURNAL_STREAM": "1:2"], fileDescriptor: pipe.writeEnd).priorityPrefix)
        #expect(!Log(environment: [:], fileDescriptor: pipe.writeEnd).priorityPrefix)
    }

    @Test func writesAtOrAboveTheThresholdWithContext() throws {
        let pipe = try Pipe()
        let log = Log(threshold: .notice, priorityPrefix: true, fileDescriptor: pipe.writeEnd).with([
            "gateway": "aliyun"
        ])
        log.info("dropped")
        log.notice("breaker opened", ["failures": 10])
        log.error("gateway paused")
        #expect(
            pipe.drain() == """
                <5>level=notice msg="breaker opened" failures=10 gateway=aliyun
                <3>level=error msg="gateway paused" gateway=aliyun

                """)
    }

    @Test func concurrentLinesNeverInterleave() async throws {
        let pipe = try Pipe()
        let log = Log(priorityPrefix: false, fileDescriptor: pipe.writeEnd)
        let filler = String(repeating: "x", count: 200)
        await withTaskGroup(of: Void.self) { group in
            for task in 0..<8 {
                group.addTask {
                    for index in 0..<20 { log.info("tick", ["task": task, "index": index, "pad": filler]) }
                }
            }
        }
        let lines = pipe.drain().split(separator: "\n")
        #expect(lines.count == 160)
        #expect(lines.allSatisfy { $0.hasPrefix("level=info msg=tick task=") && $0.hasSuffix("pad=" + filler) })
    }

    @Test func masksContactsAndHidesSecrets() {

        let secret = Secret("s3cr3t-key")
        #expect("\(secret)" == "****")
        #expect(String(reflecting: secret) == "****")
        var dumped = ""
        dump(secret, to: &dumped)
        #expect(!dumped.contains("s3cr3t"))
        #expect(secret.reveal() == "s3cr3t-key")
        #expect(Log(priorityPrefix: false).line(.info, "token", ["key": secret]) == "level=info msg=token key=****\n")
    }

    @Test func levelsParseAndOrder() {
        #expect(Log.Level(name: "WARN") == .warning)
        #expect(Log.Level(name: "loud") == nil)
        #expect(Log.Level.debug < .error)
        #expect(Log.Level.allCases.map(\.priority) == [7, 6, 5, 4, 3])
    }
}
