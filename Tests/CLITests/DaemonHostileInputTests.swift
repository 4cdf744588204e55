import Foundation
import TestSupport
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// What an attacker can send the running daemon: each is refused with a 4xx and `serve` lives on.
@Suite("DaemonControl: hostile pushes to the running daemon", .serialized)
struct DaemonHostileInputTests {
    static func sha1Hex(_ text: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/sha1sum")
        let input = Pipe()
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        try runSerialized(process)
        input.fileHandleForWriting.write(Data(text.utf8))
        try input.fileHandleForWriting.close()
        let data = readToEnd(output.fileHandleForReading)
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self).split(separator: " ").first.map(String.init) ?? ""
    }

    /// A signed WeChat push whose `CreateTime` overflows a milliseconds conversion once crashed the
    /// daemon (five of them exhaust systemd's restart limit).
    @Test func aSignedWeChatPushWithAnAbsurdTimeIsRefusedAndTheDaemonLives() async throws {
        let rig = try DaemonHarness(gateways: [.init(name: "wx", kind: "wechat")], sms: ["wx"])
        do {
            let serve = try await rig.startServe()
            let token = try String(contentsOfFile: rig.cli.file("wx-receipts.token"), encoding: .utf8)
                .trimmingCharacters(in: .whitespacesAndNewlines)
            for n in 1...5 {
                let timestamp = String(Int(Date().timeIntervalSince1970))
                let nonce = "nonce\(n)"
                let signature = try Self.sha1Hex([token, timestamp, nonce].sorted().joined())
                let body = """
                    <xml><ToUserName><![CDATA[gh_7f083739789a]]></ToUserName><FromUserName><![CDATA[oia2TjuEGTNoeX76QEjQNrcURxG8]]></FromUserName>\
                    <CreateTime>9300000000000000</CreateTime><MsgType><![CDATA[event]]></MsgType>\
                    <Event><![CDATA[TEMPLATESENDJOBFINISH]]></Event><MsgID>200163836</MsgID><Status><![CDATA[success]]></Status></xml>
                    """
                var request = URLRequest(
                    url: URL(
                        string:
                            "http://127.0.0.1:\(rig.receiptsPort)/receipts/wx?signature=\(signature)&timestamp=\(timestamp)&nonce=\(nonce)"
                    )!)
                request.httpMethod = "POST"
                request.httpBody = Data(body.utf8)
                request.setValue("text/xml", forHTTPHeaderField: "Content-Type")
                let (_, response) = try await URLSession.shared.data(for: request)
                let status = (response as? HTTPURLResponse)?.statusCode ?? -1
                #expect(status == 400, "push \(n) answered \(status)")
                #expect(serve.isRunning, "serve died on push \(n):\n\(serve.tail())")
            }
            #expect((try? await rig.get(port: rig.receiptsPort, path: "/healthz")) != nil)
            #expect(await serve.stop(SIGTERM) == 0)
        } catch {
            await rig.stopAll()
            throw error
        }
        await rig.stopAll()
    }
}
