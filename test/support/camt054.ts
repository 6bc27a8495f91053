/**
 * The bank's camt.054 returning one of our transfers (a credit on our account, RtrInf AC04: the
 * account is closed), as finance receives it. `currency` other than EUR makes it malformed.
 */
export const camt054Return = (o: { endToEndId: string; amount: string; messageId: string; currency?: string }) => `<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.08">
  <BkToCstmrDbtCdtNtfctn>
    <GrpHdr><MsgId>${o.messageId}</MsgId><CreDtTm>2025-04-03T06:30:00+02:00</CreDtTm></GrpHdr>
    <Ntfctn>
      <Id>N1</Id>
      <Acct><Id><IBAN>FR7630004000031234567890143</IBAN></Id></Acct>
      <Ntry>
        <Amt Ccy="EUR">${o.amount}</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>
        <NtryDtls><TxDtls>
          <Refs><EndToEndId>${o.endToEndId}</EndToEndId></Refs>
          <Amt Ccy="${o.currency ?? 'EUR'}">${o.amount}</Amt><CdtDbtInd>CRDT</CdtDbtInd>
          <RtrInf><Rsn><Cd>AC04</Cd></Rsn></RtrInf>
        </TxDtls></NtryDtls>
      </Ntry>
    </Ntfctn>
  </BkToCstmrDbtCdtNtfctn>
</Document>
`;
