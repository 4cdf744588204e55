import Foundation
import Synchronization
import Testing

@testable import Delivery

/// An `HTTPClient` that records requests and answers with a fixed response.
final class ReceiptCannedClient: HTTPClient {
    let response: HTTPResponse
    let requests = Mutex<[HTTPRequest]>([])

    init(status: Int = 200, body: String) { response = HTTPResponse(status: status, body: Array(body.utf8)) }

    func send(_ request: HTTPRequest) async throws -> HTTPResponse {
        requests.withLock { $0.append(request) }
        return response
    }
}

@Suite struct ReceiptPollerTests {
    /// Delivery/Gateways.md §3 sample, with the elided number and template filled in.
    static let aliyunSample = #"""
        {"Code":"OK","TotalCount":1,"SmsSendDetailDTOs":{"SmsSendDetailDTO":[{"PhoneNum":"15900000000","SendStatus":3,"ErrCode":"DELIVERED","TemplateCode":"SMS_12345678","Content":"【签名】您好","SendDate":"2022-02-16 15:55:21","ReceiveDate":"2022-02-16 15:55:28"}]}}
        """#

    @Test func aliyunSampleAnswer() throws {
        let page = try AliyunReceiptPoller.parse(
            receiptBytes(Self.aliyunSample), gateway: "ali", bizID: "900619746936498440^0")
        #expect(page.totalCount == 1)
        #expect(page.pending == 0)
        let receipt = try #require(page.receipts.first)
        #expect(receipt.status == .delivered)
        #expect(receipt.reasonCode == "DELIVERED")
        #expect(receipt.recipient == "15900000000")
        #expect(receipt.providerID == "900619746936498440^0")
        #expect(receipt.occurredAt == Date(timeIntervalSince1970: 1_644_998_128))
        // Same key as the SmsReport push of the same event.
        let pushed = try AliyunReceiptParser.parse(
            receiptBytes(
                #"[{"phone_number":"15900000000","report_time":"2022-02-16 15:55:28","success":true,"err_code":"DELIVERED","biz_id":"900619746936498440^0"}]"#
            ), gateway: "ali")
        #expect(pushed.first?.dedupeKey == receipt.dedupeKey)
    }

    @Test func aliyunPendingFailedAndErrors() throws {
        let body = #"""
            {"Code":"OK","TotalCount":"3","SmsSendDetailDTOs":{"SmsSendDetailDTO":[
             {"PhoneNum":"15900000000","SendStatus":1,"ErrCode":"","SendDate":"2022-02-16 15:55:21"},
             {"PhoneNum":"15900000001","SendStatus":"2","ErrCode":"MBBLACK","ReceiveDate":"2022-02-16 15:56:00","OutId":"m-2"},
             {"PhoneNum":"15900000002","SendStatus":3,"ErrCode":"DELIVERED"}]}}
            """#
        let page = try AliyunReceiptPoller.parse(receiptBytes(body), gateway: "ali", bizID: nil)
        #expect(page.totalCount == 3)
        #expect(page.pending == 1)
        #expect(page.receipts.map(\.status) == [.failed, .delivered])
        #expect(page.receipts[0].reasonCode == "MBBLACK")
        #expect(page.receipts[0].messageID == "m-2")
        let empty = try AliyunReceiptPoller.parse(
            receiptBytes(#"{"Code":"OK","TotalCount":0,"SmsSendDetailDTOs":{}}"#), gateway: "a", bizID: nil)
        #expect(empty == .init(receipts: [], pending: 0, totalCount: 0))

        do {
            _ = try AliyunReceiptPoller.parse(
                receiptBytes(#"{"Code":"isv.MOBILE_NUMBER_ILLEGAL","Message":"非法手机号","RequestId":"r"}"#), gateway: "a",
                bizID: nil)
            Issue.record("expected a provider error")
        } catch {
            #expect(error.code == .provider)
            #expect(error.providerCode == "isv.MOBILE_NUMBER_ILLEGAL")
            #expect(!error.description.contains("非法"))
        }
        #expect(
            receiptErrorCode {
                try AliyunReceiptPoller.parse(receiptBytes(#"{"TotalCount":1}"#), gateway: "a", bizID: nil)
            } == .malformed)
    }

    @Test func aliyunRequestIsSortedEncodedAndSigned() async throws {
        let poller = AliyunReceiptPoller(gateway: "ali", endpoint: "http://127.0.0.1:9/") { request in
            request.headers.add(name: "X-Signed", value: "yes")
        }
        let query = AliyunReceiptPoller.Query(
            phoneNumber: "15900000000", sendDate: Date(timeIntervalSince1970: 1_767_285_000), bizID: "9006^0",
            pageSize: 10, currentPage: 2)
        let request = try poller.makeRequest(for: query)
        #expect(request.method == .get)
        #expect(
            request.url
                == "http://127.0.0.1:9/?Action=QuerySendDetails&BizId=9006%5E0&CurrentPage=2&Format=JSON&PageSize=10&PhoneNumber=15900000000&SendDate=20260102&Version=2017-05-25"
        )
        #expect(request.headers.first(name: "x-signed") == "yes")

        var bad = query
        bad.pageSize = 51
        #expect(receiptErrorCode { try poller.makeRequest(for: bad) } == .invalidQuery)

        let client = ReceiptCannedClient(body: Self.aliyunSample)
        let page = try await poller.poll(query, using: client)
        #expect(page.receipts.count == 1)
        #expect(client.requests.withLock { $0.count } == 1)

        let refused = ReceiptCannedClient(status: 503, body: "<html>busy</html>")
        await #expect(throws: ReceiptError(.provider, "QuerySendDetails failed", providerCode: "http:503")) {
            try await poller.poll(query, using: refused)
        }
    }

    @Test func tencentPullAnswer() throws {
        let body = #"""
            {"Response":{"PullSmsSendStatusSet":[
             {"UserReceiveTime":1559456701,"CountryCode":"86","SubscriberNumber":"13711112222","PhoneNumber":"+8613711112222","SerialNo":"2019:8329734579124981264","ReportStatus":"SUCCESS","Description":"用户接收成功","SessionContext":"msg-9"},
             {"UserReceiveTime":1559456702,"CountryCode":"86","SubscriberNumber":"13711113333","PhoneNumber":"+8613711113333","SerialNo":"2019:2","ReportStatus":"FAIL","Description":"空号","SessionContext":""}],
             "RequestId":"b5d8b7a0-0000-0000-0000-000000000000"}}
            """#
        let receipts = try TencentReceiptPoller.parse(receiptBytes(body), gateway: "tx")
        #expect(receipts.count == 2)
        #expect(receipts[0].status == .delivered)
        #expect(receipts[0].messageID == "msg-9")
        #expect(receipts[0].providerID == "2019:8329734579124981264")
        #expect(receipts[0].recipient == "13711112222")
        #expect(receipts[0].occurredAt == Date(timeIntervalSince1970: 1_559_456_701))
        #expect(receipts[1].status == .failed)
        #expect(receipts[1].messageID == nil)
        #expect(receipts[1].reasonCode == "空号")

        // Same key as the callback of the same event (2019-06-02 14:25:01 Beijing).
        let pushed = try TencentReceiptParser.parse(
            receiptBytes(
                #"[{"user_receive_time":"2019-06-02 14:25:01","mobile":"13711112222","report_status":"SUCCESS","errmsg":"DELIVRD","sid":"2019:8329734579124981264"}]"#
            ),
            gateway: "tx")
        #expect(pushed.first?.dedupeKey == receipts[0].dedupeKey)

        do {
            _ = try TencentReceiptPoller.parse(
                receiptBytes(
                    #"{"Response":{"Error":{"Code":"AuthFailure.SignatureFailure","Message":"secret"},"RequestId":"r"}}"#
                ),
                gateway: "tx")
            Issue.record("expected a provider error")
        } catch {
            #expect(error.code == .provider)
            #expect(error.providerCode == "AuthFailure.SignatureFailure")
        }
        #expect(
            try TencentReceiptPoller.parse(
                receiptBytes(#"{"Response":{"PullSmsSendStatusSet":[],"RequestId":"r"}}"#), gateway: "t"
            ).isEmpty)
    }

    /// A `UserReceiveTime` of Int.max used to trap converting the time back to Int64 for the dedupe key.
    @Test func tencentPullAnswerWithAnOutOfRangeTime() throws {
        let body = #"""
            {"Response":{"PullSmsSendStatusSet":[{"UserReceiveTime":9223372036854775807,"SerialNo":"s1","ReportStatus":"SUCCESS"}]}}
            """#
        let receipts = try TencentReceiptPoller.parse(receiptBytes(body), gateway: "tx")
        #expect(receipts.map(\.dedupeKey) == ["tencent:s1|SUCCESS|9223372036854775807"])
    }

    @Test func tencentRequest() async throws {
        let poller = TencentReceiptPoller(
            gateway: "tx", smsSdkAppID: "1400006666", endpoint: "http://127.0.0.1:9/", limit: 50
        ) { request in
            request.headers.add(name: "Authorization", value: "TC3-HMAC-SHA256 test")
        }
        let request = try poller.makeRequest()
        #expect(request.method == .post)
        #expect(request.url == "http://127.0.0.1:9/")
        #expect(String(decoding: request.body, as: UTF8.self) == #"{"Limit":50,"SmsSdkAppId":"1400006666"}"#)
        #expect(request.headers.first(name: "content-type") == "application/json; charset=utf-8")
        #expect(request.headers.first(name: "x-tc-action") == "PullSmsSendStatus")
        #expect(request.headers.first(name: "x-tc-version") == "2021-01-11")
        #expect(request.headers.first(name: "x-tc-region") == "ap-guangzhou")
        #expect(request.headers.first(name: "authorization") == "TC3-HMAC-SHA256 test")

        var tooMany = poller
        tooMany.limit = 101
        #expect(receiptErrorCode { try tooMany.makeRequest() } == .invalidQuery)

        let client = ReceiptCannedClient(body: #"{"Response":{"PullSmsSendStatusSet":[],"RequestId":"r"}}"#)
        #expect(try await poller.poll(using: client).isEmpty)
    }

    @Test func tencentPhoneNumberRequest() async throws {
        let poller = TencentReceiptPoller(
            gateway: "tx", smsSdkAppID: "1400006666", endpoint: "http://127.0.0.1:9/"
        ) { request in
            request.headers.add(name: "Authorization", value: "TC3-HMAC-SHA256 test")
        }
        let begin = Date(timeIntervalSince1970: 1_767_285_000.7)
        var query = TencentReceiptPoller.PhoneNumberQuery(phoneNumber: "13711112222", beginTime: begin)
        let open = try poller.makeRequest(for: query)
        #expect(open.method == .post)
        #expect(open.url == "http://127.0.0.1:9/")
        #expect(
            String(decoding: open.body, as: UTF8.self)
                == #"{"BeginTime":1767285000,"Limit":100,"Offset":0,"PhoneNumber":"+8613711112222","SmsSdkAppId":"1400006666"}"#
        )
        #expect(open.headers.first(name: "x-tc-action") == "PullSmsSendStatusByPhoneNumber")
        #expect(open.headers.first(name: "x-tc-version") == "2021-01-11")
        #expect(open.headers.first(name: "x-tc-region") == "ap-guangzhou")
        #expect(open.headers.first(name: "content-type") == "application/json; charset=utf-8")
        #expect(open.headers.first(name: "authorization") == "TC3-HMAC-SHA256 test")

        query.endTime = begin.addingTimeInterval(3600)
        query.offset = 100
        query.limit = 50
        query.phoneNumber = "+8613711112222"
        #expect(
            String(decoding: try poller.makeRequest(for: query).body, as: UTF8.self)
                == #"{"BeginTime":1767285000,"EndTime":1767288600,"Limit":50,"Offset":100,"PhoneNumber":"+8613711112222","SmsSdkAppId":"1400006666"}"#
        )

        for broken in [
            TencentReceiptPoller.PhoneNumberQuery(phoneNumber: "", beginTime: begin),
            TencentReceiptPoller.PhoneNumberQuery(phoneNumber: "13711112222", beginTime: begin, limit: 101),
            TencentReceiptPoller.PhoneNumberQuery(phoneNumber: "13711112222", beginTime: begin, limit: 0),
            TencentReceiptPoller.PhoneNumberQuery(phoneNumber: "13711112222", beginTime: begin, offset: -1),
            TencentReceiptPoller.PhoneNumberQuery(
                phoneNumber: "13711112222", beginTime: begin, endTime: begin.addingTimeInterval(-1)),
        ] {
            #expect(receiptErrorCode { try poller.makeRequest(for: broken) } == .invalidQuery)
        }

        let client = ReceiptCannedClient(body: #"{"Response":{"PullSmsSendStatusSet":[],"RequestId":"r"}}"#)
        #expect(try await poller.poll(query, using: client).isEmpty)
        let refused = ReceiptCannedClient(status: 502, body: "bad gateway")
        await #expect(
            throws: ReceiptError(.provider, "PullSmsSendStatusByPhoneNumber failed", providerCode: "http:502")
        ) {
            try await poller.poll(query, using: refused)
        }
    }

    @Test func tencentPhoneNumberAnswer() throws {
        let body = #"""
            {"Response":{"PullSmsSendStatusSet":[
             {"UserReceiveTime":1559456701,"CountryCode":"86","SubscriberNumber":"13711112222","PhoneNumber":"+8613711112222","SerialNo":"2019:8329734579124981264","ReportStatus":"SUCCESS","Description":"用户接收成功","SessionContext":"msg-9"},
             {"UserReceiveTime":1559456702,"CountryCode":"86","SubscriberNumber":"13711112222","PhoneNumber":"+8613711112222","SerialNo":"2019:2","ReportStatus":"FAIL","Description":"空号","SessionContext":"msg-10"}],
             "RequestId":"b5d8b7a0-0000-0000-0000-000000000000"}}
            """#
        let receipts = try TencentReceiptPoller.parsePhoneNumberStatus(receiptBytes(body), gateway: "tx")
        #expect(receipts.map(\.messageID) == ["msg-9", "msg-10"])
        #expect(receipts.map(\.providerID) == ["2019:8329734579124981264", "2019:2"])
        #expect(receipts.map(\.status) == [.delivered, .failed])
        #expect(receipts[0].recipient == "13711112222")
        #expect(receipts[1].reasonCode == "空号")
        // The same event as the pull and the callback: same dedupe key.
        #expect(receipts == (try TencentReceiptPoller.parse(receiptBytes(body), gateway: "tx")))
        let pushed = try TencentReceiptParser.parse(
            receiptBytes(
                #"[{"user_receive_time":"2019-06-02 14:25:01","mobile":"13711112222","report_status":"SUCCESS","errmsg":"DELIVRD","sid":"2019:8329734579124981264"}]"#
            ),
            gateway: "tx")
        #expect(pushed.first?.dedupeKey == receipts[0].dedupeKey)

        do {
            _ = try TencentReceiptPoller.parsePhoneNumberStatus(
                receiptBytes(
                    #"{"Response":{"Error":{"Code":"InvalidParameterValue.IncorrectPhoneNumber","Message":"m"},"RequestId":"r"}}"#
                ),
                gateway: "tx")
            Issue.record("expected a provider error")
        } catch {
            #expect(error.code == .provider)
            #expect(error.providerCode == "InvalidParameterValue.IncorrectPhoneNumber")
            #expect(error.message.contains("PullSmsSendStatusByPhoneNumber"))
        }
        #expect(
            receiptErrorCode {
                try TencentReceiptPoller.parsePhoneNumberStatus(
                    receiptBytes(#"{"Response":{"PullSmsSendStatusSet":[{"SerialNo":"1","ReportStatus":"MAYBE"}]}}"#),
                    gateway: "tx")
            } == .unsupported)
    }
}
