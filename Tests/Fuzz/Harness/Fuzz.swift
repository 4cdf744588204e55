// libFuzzer entry points for PolicyPush's parsers of untrusted input.
//
// One binary holds every target; `FUZZ_TARGET` picks the one to run (as Bitcoin Core's fuzz
// binary does), so `scripts/fuzz` compiles and links once. Each target feeds the bytes to the
// public entry point that reads them in production (through a file on tmpfs where that entry
// point takes a path), plus a lower-level public parser where the whole path would turn most
// inputs away early. A target only returns: any trap, sanitizer report, leak or hang is a finding.
// Modules are imported without @testable: see scripts/fuzz.

import Glibc

/// One fuzz target: a name for `FUZZ_TARGET` and the function libFuzzer calls per input.
struct FuzzTarget: Sendable {
    let name: String
    let summary: String
    let run: @Sendable ([UInt8]) -> Void
}

let targets: [FuzzTarget] = [
    FuzzTarget(name: "csv", summary: "CSVReader, GB18030 detection, EnterpriseFileReader CSV path", run: fuzzCSV),
    FuzzTarget(name: "jsonl", summary: "JSONLineParser, EnterpriseFileReader JSON Lines path", run: fuzzJSONLines),
    FuzzTarget(
        name: "aliyun", summary: "AliyunReceiptParser, AliyunReceiptPoller.parse, InboundParser.aliyun", run: fuzzAliyun
    ),
    FuzzTarget(
        name: "tencent", summary: "TencentReceiptParser, TencentReceiptPoller.parse, InboundParser.tencent",
        run: fuzzTencent),
    FuzzTarget(name: "generic", summary: "GenericReceiptParser, InboundParser.generic", run: fuzzGeneric),
    FuzzTarget(name: "wechat", summary: "WeChatSignature.verify, WeChatReceiptParser", run: fuzzWeChat),
    FuzzTarget(
        name: "xml", summary: "MiniXML, WeChatReceiptParser.parseVerified and parseVerifiedPush", run: fuzzMiniXML),
    FuzzTarget(name: "rule", summary: "RuleLexer, RuleParser, CompiledRule, RuleEvaluator", run: fuzzRule),
    FuzzTarget(name: "policy", summary: "PolicyCatalog: JSON5Locator (Kit), JSON5 decode, profiles", run: fuzzPolicy),
    FuzzTarget(
        name: "template", summary: "TemplateSet: JSON5Locator (Kit), templates, rendering", run: fuzzTemplate),
    FuzzTarget(name: "config", summary: "Configuration.load (JSON5 config)", run: fuzzConfiguration),
]

/// The target named by `FUZZ_TARGET`; read once, before the first input.
let selected: FuzzTarget = {
    let name = getenv("FUZZ_TARGET").map { String(cString: $0) } ?? ""
    if name == "list" {
        for target in targets { print("\(target.name)\t\(target.summary)") }
        exit(0)
    }
    guard let target = targets.first(where: { $0.name == name }) else {
        fail("FUZZ_TARGET must name a target: \(targets.map(\.name).joined(separator: ", "))", status: 64)
    }
    return target
}()

@_cdecl("LLVMFuzzerInitialize")
public func fuzzInitialize(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>
) -> CInt {
    _ = selected
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    selected.run(bytes)
    return 0
}

/// A private directory for targets whose entry point reads files; removed at exit.
///
/// On tmpfs when there is one: ext4 flushes a file truncated and rewritten on every close
/// (`auto_da_alloc`), which cut the file-based targets to a few hundred inputs a second.
let scratch: String = {
    let base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp"
    var template = Array((base + "/policypush-fuzz-XXXXXX").utf8CString)
    guard let path = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
        fail("cannot create a scratch directory under \(base)")
    }
    let directory = String(cString: path)
    atexit { removeScratch() }
    return directory
}()

private func removeScratch() {
    guard let directory = opendir(scratch) else { return }
    while let entry = readdir(directory) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) {
            String(cString: $0.bindMemory(to: CChar.self).baseAddress!)
        }
        if name != ".", name != ".." { unlink(scratch + "/" + name) }
    }
    closedir(directory)
    rmdir(scratch)
}

/// Writes `bytes` to `name` in the scratch directory and returns its path.
@discardableResult
func writeScratch(_ name: String, _ bytes: some Collection<UInt8>) -> String {
    let path = scratch + "/" + name
    let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
    guard descriptor >= 0 else {
        fail("cannot write \(path)")
    }
    let array = Array(bytes)
    array.withUnsafeBytes { buffer in
        var offset = 0
        while offset < buffer.count {
            let written = write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
            guard written > 0 else { break }
            offset += written
        }
    }
    close(descriptor)
    return path
}

/// Reports a harness set-up problem (not a finding) on stderr and exits.
func fail(_ message: String, status: CInt = 1) -> Never {
    let line = Array("policypush-fuzz: \(message)\n".utf8)
    _ = line.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
    exit(status)
}
