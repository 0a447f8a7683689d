-- SPDX-License-Identifier: Apache-2.0
-- sqnup.lua: Wireshark dissector for Sequans Monarch modem links recorded by
-- sqnup (sqn-sim --decode TRACE --pcapng FILE; docs/wireshark.md).
--
--   wireshark -X lua_script:share/wireshark/sqnup.lua capture.pcapng
--   or copy it to ~/.local/lib/wireshark/plugins/
--
-- Link type LINKTYPE_USER0 (147). Each packet: a 4-byte header
--   'S', direction (0 host->modem, 1 modem->host, 2 note),
--   protocol (1 AT line, 2 STP frame, 3 raw stream bytes, 4 note text),
--   flags (0x1: STP payload not recorded, recorder's CRC verdict good;
--          0x2: ... bad)
-- then the unit's bytes. Raw stream bytes (protocol 3) are reassembled per
-- direction into AT lines and STP frames across packets.
--
-- Protocols: sqnlink (the header), sqn_at (AT commands, replies, URCs),
-- sqn_stp (STP frames). Expert infos mark what the sqnup harness calls
-- faults: bad header or payload CRC, bad magic, wrong tid or op in a
-- response, a non-zero BLOCK residue, a NACK, ERROR answering a command.

local p_link = Proto("sqnlink", "sqnup modem link")
local p_at = Proto("sqn_at", "Sequans AT commands")
local p_stp = Proto("sqn_stp", "Sequans STP (serial transfer protocol)")

local dirs = { [0] = "host -> modem", [1] = "modem -> host", [2] = "note" }
local protos = { [1] = "AT line", [2] = "STP frame", [3] = "stream bytes",
                 [4] = "note" }

local lf = {
  mark = ProtoField.uint8("sqnlink.mark", "Mark", base.HEX),
  dir = ProtoField.uint8("sqnlink.dir", "Direction", base.DEC, dirs),
  proto = ProtoField.uint8("sqnlink.proto", "Protocol", base.DEC, protos),
  flags = ProtoField.uint8("sqnlink.flags", "Flags", base.HEX),
  note = ProtoField.string("sqnlink.note", "Note"),
  raw = ProtoField.bytes("sqnlink.raw", "Stream bytes"),
}
p_link.fields = { lf.mark, lf.dir, lf.proto, lf.flags, lf.note, lf.raw }

local af = {
  line = ProtoField.string("sqn_at.line", "Line"),
  kind = ProtoField.string("sqn_at.kind", "Kind"),
  command = ProtoField.string("sqn_at.command", "Answers command"),
  result = ProtoField.string("sqn_at.result", "Final result"),
}
p_at.fields = { af.line, af.kind, af.command, af.result }

local ops = { [0] = "RESET", [1] = "SESSION_OPEN", [2] = "BLOCK_CMD",
              [3] = "BLOCK", [4] = "DATA_TYPE", [63] = "UNKNOWN" }
local sf = {
  magic = ProtoField.uint32("sqn_stp.magic", "Magic", base.HEX),
  op = ProtoField.uint8("sqn_stp.op", "Op", base.DEC, ops, 0x3f),
  ack = ProtoField.bool("sqn_stp.ack", "ACK", 8, nil, 0x80),
  nack = ProtoField.bool("sqn_stp.nack", "NACK", 8, nil, 0x40),
  sid = ProtoField.uint8("sqn_stp.sid", "Session id", base.DEC),
  plen = ProtoField.uint16("sqn_stp.plen", "Payload length", base.DEC),
  tid = ProtoField.uint32("sqn_stp.tid", "Transaction id", base.DEC),
  hcrc = ProtoField.uint16("sqn_stp.hcrc", "Header CRC", base.HEX),
  hcrc_status = ProtoField.string("sqn_stp.hcrc.status", "Header CRC verdict"),
  pcrc = ProtoField.uint16("sqn_stp.pcrc", "Payload CRC", base.HEX),
  pcrc_status = ProtoField.string("sqn_stp.pcrc.status", "Payload CRC verdict"),
  payload = ProtoField.bytes("sqn_stp.payload", "Payload"),
  blen = ProtoField.uint16("sqn_stp.block_len", "Next block length", base.DEC),
  residue = ProtoField.uint16("sqn_stp.residue", "Residue", base.DEC),
  open_ok = ProtoField.uint8("sqn_stp.open.ok", "Open OK", base.DEC),
  open_ver = ProtoField.uint8("sqn_stp.open.version", "Version", base.DEC),
  open_max = ProtoField.uint16("sqn_stp.open.max_transfer", "Max transfer",
                               base.DEC),
  req = ProtoField.framenum("sqn_stp.request_in", "Request in frame",
                            base.NONE, frametype.REQUEST),
  rsp = ProtoField.framenum("sqn_stp.response_in", "Response in frame",
                            base.NONE, frametype.RESPONSE),
  reasm = ProtoField.uint32("sqn_stp.reassembled_in", "Reassembled from bytes",
                            base.DEC),
}
p_stp.fields = { sf.magic, sf.op, sf.ack, sf.nack, sf.sid, sf.plen, sf.tid,
                 sf.hcrc, sf.hcrc_status, sf.pcrc, sf.pcrc_status, sf.payload,
                 sf.blen, sf.residue, sf.open_ok, sf.open_ver, sf.open_max,
                 sf.req, sf.rsp, sf.reasm }

local ex = {
  bad_hcrc = ProtoExpert.new("sqn_stp.bad_hcrc", "Bad header CRC",
                             expert.group.CHECKSUM, expert.severity.ERROR),
  bad_pcrc = ProtoExpert.new("sqn_stp.bad_pcrc", "Bad payload CRC",
                             expert.group.CHECKSUM, expert.severity.ERROR),
  bad_magic = ProtoExpert.new("sqn_stp.bad_magic", "Bad magic",
                              expert.group.MALFORMED, expert.severity.ERROR),
  wrong_tid = ProtoExpert.new("sqn_stp.wrong_tid",
                              "Response tid differs from the request's",
                              expert.group.SEQUENCE, expert.severity.ERROR),
  wrong_op = ProtoExpert.new("sqn_stp.wrong_op",
                             "Response op is not the request's op | ACK",
                             expert.group.SEQUENCE, expert.severity.ERROR),
  residue = ProtoExpert.new("sqn_stp.residue_nonzero",
                            "BLOCK answered with a residue",
                            expert.group.SEQUENCE, expert.severity.WARN),
  nack = ProtoExpert.new("sqn_stp.nack_seen", "NACK",
                         expert.group.SEQUENCE, expert.severity.WARN),
  truncated = ProtoExpert.new("sqn_stp.truncated", "Frame shorter than its length",
                              expert.group.MALFORMED, expert.severity.ERROR),
}
p_stp.experts = { ex.bad_hcrc, ex.bad_pcrc, ex.bad_magic, ex.wrong_tid,
                  ex.wrong_op, ex.residue, ex.nack, ex.truncated }

local at_error = ProtoExpert.new("sqn_at.error", "ERROR answering a command",
                                 expert.group.RESPONSE_CODE,
                                 expert.severity.WARN)
p_at.experts = { at_error }

-- CRC-16/XMODEM (poly 0x1021, init 0), as sqnup/crc.h.
local crc_table = {}
for i = 0, 255 do
  local c = bit32.lshift(i, 8)
  for _ = 1, 8 do
    if bit32.band(c, 0x8000) ~= 0 then
      c = bit32.band(bit32.bxor(bit32.lshift(c, 1), 0x1021), 0xffff)
    else
      c = bit32.band(bit32.lshift(c, 1), 0xffff)
    end
  end
  crc_table[i] = c
end

local function crc16_byte(crc, b)
  local idx = bit32.band(bit32.bxor(bit32.rshift(crc, 8), b), 0xff)
  return bit32.band(bit32.bxor(bit32.lshift(crc, 8), crc_table[idx]), 0xffff)
end

local function crc16(crc, tvb, off, len)
  if len <= 0 then return crc end
  local bytes = tvb:bytes(off, len)
  for i = 0, len - 1 do
    crc = crc16_byte(crc, bytes:get_index(i))
  end
  return crc
end

-- What the first pass learnt, by frame number (pinfo.visited on later passes).
local state = {}

local function reset_state()
  state = {
    last_req = nil,     -- { tid, op, frame } of the last host STP frame
    req_of = {},        -- response frame -> request info
    rsp_of = {},        -- request frame -> response frame
    pending_at = nil,   -- the last host AT command without a final result
    at_cmd_of = {},     -- modem line frame -> command it answers
    streams = { [0] = { buf = "" }, [1] = { buf = "" } },
    units_of = {},      -- stream packet -> list of reassembled units
  }
end
reset_state()
function p_link.init() reset_state() end

local finals = { ["OK"] = true, ["ERROR"] = true, ["NO CARRIER"] = true,
                 ["CONNECT"] = true }

local function at_final(line)
  return finals[line] or line:find("^%+CME ERROR") ~= nil
end

local function dissect_at(tvb, pinfo, tree, dir)
  local line = tvb:raw()
  local sub = tree:add(p_at, tvb())
  sub:add(af.line, tvb())
  local num = pinfo.number
  local kind
  if dir == 0 then
    kind = "command"
    if not pinfo.visited then state.pending_at = line end
  else
    if not pinfo.visited then
      state.at_cmd_of[num] = state.pending_at
      if at_final(line) then state.pending_at = nil end
    end
    local cmd = state.at_cmd_of[num]
    if at_final(line) then
      kind = "final result"
      sub:add(af.result, line)
    elseif cmd then
      kind = "reply"
    else
      kind = "URC"
    end
    if cmd then sub:add(af.command, cmd) end
    if (line == "ERROR" or line:find("^%+CME ERROR")) and cmd then
      sub:add_proto_expert_info(at_error, "ERROR answering " .. cmd)
    end
  end
  sub:add(af.kind, kind)
  pinfo.cols.protocol = "SQN_AT"
  pinfo.cols.info:append((dir == 0 and "> " or "< ") .. line)
end

local function stp_info(op)
  local name = ops[bit32.band(op, 0x3f)] or string.format("op %d", op)
  if bit32.band(op, 0x80) ~= 0 then name = name .. "|ACK" end
  if bit32.band(op, 0x40) ~= 0 then name = name .. "|NACK" end
  return name
end

local function dissect_stp(tvb, pinfo, tree, dir, flags, origlen)
  local len = tvb:len()
  local sub = tree:add(p_stp, tvb())
  pinfo.cols.protocol = "SQN_STP"
  if len < 16 then
    sub:add_proto_expert_info(ex.truncated, "STP frame of " .. len .. " bytes")
    return
  end
  local magic = tvb(0, 4):uint()
  local op = tvb(4, 1):uint()
  local plen = tvb(6, 2):uint()
  local tid = tvb(8, 4):uint()
  local hcrc = tvb(12, 2):uint()
  local pcrc = tvb(14, 2):uint()
  local mi = sub:add(sf.magic, tvb(0, 4))
  local want = dir == 0 and 0x66617374 or 0x74736166
  if magic ~= want then
    mi:add_proto_expert_info(ex.bad_magic,
      string.format("magic 0x%08x, want 0x%08x", magic, want))
  end
  sub:add(sf.op, tvb(4, 1))
  sub:add(sf.ack, tvb(4, 1))
  sub:add(sf.nack, tvb(4, 1))
  sub:add(sf.sid, tvb(5, 1))
  sub:add(sf.plen, tvb(6, 2))
  sub:add(sf.tid, tvb(8, 4))
  -- header CRC: over the header with the hcrc field as zero
  local calc = crc16(0, tvb, 0, 12)
  calc = crc16_byte(crc16_byte(calc, 0), 0) -- the hcrc field as zero
  calc = crc16(calc, tvb, 14, 2)
  local hi = sub:add(sf.hcrc, tvb(12, 2))
  local hstat
  if hcrc == calc then
    hstat = "good"
  elseif hcrc == 0 then
    hstat = "not computed"
  else
    hstat = "bad"
    hi:add_proto_expert_info(ex.bad_hcrc,
      string.format("header CRC 0x%04x, computed 0x%04x", hcrc, calc))
  end
  sub:add(sf.hcrc_status, hstat)
  local pi = sub:add(sf.pcrc, tvb(14, 2))
  local have = len - 16
  local pstat
  if have >= plen then
    local pc = crc16(0, tvb, 16, plen)
    if pc == pcrc then
      pstat = "good"
    elseif pcrc == 0 then
      pstat = "not computed"
    else
      pstat = "bad"
      pi:add_proto_expert_info(ex.bad_pcrc,
        string.format("payload CRC 0x%04x, computed 0x%04x", pcrc, pc))
    end
  elseif bit32.band(flags, 1) ~= 0 then
    pstat = "good"
    pi:append_text(" (payload not recorded; the recorder checked it)")
  elseif bit32.band(flags, 2) ~= 0 then
    pstat = "bad"
    pi:add_proto_expert_info(ex.bad_pcrc,
      "payload CRC bad (payload not recorded; the recorder's verdict)")
  else
    pstat = "not captured"
    if origlen < 16 + plen then
      sub:add_proto_expert_info(ex.truncated,
        string.format("%d of %d payload bytes", have, plen))
    end
  end
  sub:add(sf.pcrc_status, pstat)
  if have > 0 then
    local n = math.min(have, plen)
    if n > 0 then sub:add(sf.payload, tvb(16, n)) end
  end
  local base_op = bit32.band(op, 0x3f)
  local is_rsp = bit32.band(op, 0xc0) ~= 0
  if have >= 2 and plen == 2 then
    if base_op == 2 and not is_rsp then
      sub:add(sf.blen, tvb(16, 2))
    elseif base_op == 3 and bit32.band(op, 0x80) ~= 0 then
      local ri = sub:add(sf.residue, tvb(16, 2))
      if tvb(16, 2):uint() ~= 0 then
        ri:add_proto_expert_info(ex.residue,
          "residue " .. tvb(16, 2):uint())
      end
    end
  end
  if base_op == 1 and is_rsp and have >= 4 and plen == 4 then
    sub:add(sf.open_ok, tvb(16, 1))
    sub:add(sf.open_ver, tvb(17, 1))
    sub:add(sf.open_max, tvb(18, 2))
  end
  if bit32.band(op, 0x40) ~= 0 then
    sub:add_proto_expert_info(ex.nack)
  end
  -- request/response pairing (first pass), checks on every pass
  local num = pinfo.number
  if not pinfo.visited then
    if dir == 0 then
      state.last_req = { tid = tid, op = op, frame = num }
    elseif state.last_req then
      state.req_of[num] = state.last_req
      state.rsp_of[state.last_req.frame] = num
      state.last_req = nil
    end
  end
  if dir == 0 and state.rsp_of[num] then
    sub:add(sf.rsp, state.rsp_of[num])
  end
  local req = dir == 1 and state.req_of[num]
  if req then
    sub:add(sf.req, req.frame)
    if req.tid ~= tid then
      sub:add_proto_expert_info(ex.wrong_tid,
        string.format("tid %d answers a request with tid %d", tid, req.tid))
    end
    if bit32.band(op, 0x3f) ~= bit32.band(req.op, 0x3f) then
      sub:add_proto_expert_info(ex.wrong_op,
        string.format("op 0x%02x answers op 0x%02x", op, req.op))
    end
  end
  local info = string.format("%s sid %d tid %d plen %d", stp_info(op),
                             tvb(5, 1):uint(), tid, plen)
  if hstat == "bad" or pstat == "bad" then info = info .. " [BAD CRC]" end
  pinfo.cols.info:append(info)
end

-- Cut stream bytes into units: an STP frame when the direction's magic
-- starts a unit, else an AT line up to CR or LF.
local function split_stream(st, dir)
  local units = {}
  local magic = dir == 0 and "fast" or "tsaf"
  while true do
    local b = st.buf
    local s = b:find("[^\r\n]")
    if not s then st.buf = ""; break end
    b = b:sub(s)
    if b:sub(1, math.min(4, #b)) == magic:sub(1, math.min(4, #b)) then
      if #b < 16 then st.buf = b; break end
      local plen = b:byte(7) * 256 + b:byte(8)
      if #b < 16 + plen then st.buf = b; break end
      units[#units + 1] = { proto = 2, data = b:sub(1, 16 + plen) }
      st.buf = b:sub(17 + plen)
    else
      local e = b:find("[\r\n]")
      if not e then st.buf = b; break end
      units[#units + 1] = { proto = 1, data = b:sub(1, e - 1) }
      st.buf = b:sub(e + 1)
    end
  end
  return units
end

function p_link.dissector(tvb, pinfo, tree)
  if tvb:len() < 4 then return 0 end
  pinfo.cols.protocol = "SQNLINK"
  pinfo.cols.info = ""
  local dir = tvb(1, 1):uint()
  local proto = tvb(2, 1):uint()
  local flags = tvb(3, 1):uint()
  local t = tree:add(p_link, tvb(0, 4))
  t:add(lf.mark, tvb(0, 1))
  t:add(lf.dir, tvb(1, 1))
  t:add(lf.proto, tvb(2, 1))
  t:add(lf.flags, tvb(3, 1))
  t:append_text(", " .. (dirs[dir] or "?") .. ", " .. (protos[proto] or "?"))
  if dir == 0 then
    pinfo.cols.src = "host"; pinfo.cols.dst = "modem"
  elseif dir == 1 then
    pinfo.cols.src = "modem"; pinfo.cols.dst = "host"
  end
  local body = tvb:len() > 4 and tvb(4):tvb() or ByteArray.new(""):tvb("empty")
  if proto == 1 then
    dissect_at(body, pinfo, tree, dir)
  elseif proto == 2 then
    dissect_stp(body, pinfo, tree, dir, flags,
                tvb:reported_len() - 4)
  elseif proto == 3 and (dir == 0 or dir == 1) then
    if tvb:len() > 4 then t:add(lf.raw, tvb(4)) end
    if not pinfo.visited then
      local st = state.streams[dir]
      st.buf = st.buf .. (tvb:len() > 4 and tvb(4):raw() or "")
      state.units_of[pinfo.number] = split_stream(st, dir)
    end
    local units = state.units_of[pinfo.number] or {}
    if #units == 0 then
      pinfo.cols.info = "[stream bytes, unit continues in a later packet]"
    end
    for i, u in ipairs(units) do
      local ut = ByteArray.new(u.data, true):tvb("Reassembled unit " .. i)
      if i > 1 then pinfo.cols.info:append(" | ") end
      if u.proto == 2 then
        dissect_stp(ut, pinfo, tree, dir, 0, ut:len())
      else
        dissect_at(ut, pinfo, tree, dir)
      end
    end
  else
    local text = tvb:len() > 4 and tvb(4):string() or ""
    t:add(lf.note, tvb(4))
    pinfo.cols.protocol = "SQNLINK"
    pinfo.cols.info = text
  end
  return tvb:len()
end

DissectorTable.get("wtap_encap"):add(wtap_encaps.USER0, p_link)
