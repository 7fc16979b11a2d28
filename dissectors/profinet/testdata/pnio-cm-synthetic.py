import struct, uuid as U
def uuid_bytes(s, le):
    u=U.UUID(s)
    return u.bytes_le if le else u.bytes
DEV='dea00001-6c97-11d1-8271-00a02442df7d'
EPM='e1af8308-5d1f-11c9-91a4-08002b14a0fa'
OBJ='dea00000-6c97-11d1-8271-00010101002a'
ACT='12345678-1234-5678-9abc-def012345678'
ARUUID=bytes.fromhex('a1a2a3a4b1b2c1c2d1d2e1e2e3e4e5e6')
def hdr(ptype, body, seq, opnum, le=True, flags1=0x20, iface=DEV, act=ACT, fragnum=0):
    e='<' if le else '>'
    h=bytes([4,ptype,flags1,0])+(b'\x10\x00\x00' if le else b'\x00\x00\x00')+b'\x00'
    h+=uuid_bytes(OBJ,le)+uuid_bytes(iface,le)+uuid_bytes(act,le)
    h+=struct.pack(e+'IIIHHHHH',0,1,seq,opnum,0xffff,0xffff,len(body),fragnum)+b'\x00\x00'
    assert len(h)==80
    return h+body
def ndr_req(blocks, le=True):
    e='<' if le else '>'
    return struct.pack(e+'IIIII',0x4000,len(blocks),0x4000,0,len(blocks))+blocks
def ndr_resp(status, blocks, le=True):
    e='<' if le else '>'
    return status+struct.pack(e+'IIII',len(blocks),0x4000,0,len(blocks))+blocks
def block(t, payload):
    return struct.pack('>HHBB',t,len(payload)+2,1,0)+payload
name=b'plc-controller'
arreq=block(0x0101, struct.pack('>H',1)+ARUUID+struct.pack('>H',1)+bytes.fromhex('001b1b123456')+U.UUID('dea00000-6c97-11d1-8271-00640119002a').bytes+struct.pack('>IHHH',0x00000011,100,0x8892,len(name))+name)
arres=block(0x8101, struct.pack('>H',1)+ARUUID+struct.pack('>H',1)+bytes.fromhex('000e8c010203')+struct.pack('>H',0x8892))
iocr_in=block(0x0102, struct.pack('>HHHIHHHHHHIHHH',1,1,0x8892,2,40,0xFFFF,32,32,1,0,0xFFFFFFFF,3,3,0xC000)+b'\x00'*6+struct.pack('>H',0))
iocr_out=block(0x0102, struct.pack('>HHHIHHHHHHIHHH',2,2,0x8892,2,40,0xFFFF,32,32,1,0,0xFFFFFFFF,3,3,0xC000)+b'\x00'*6+struct.pack('>H',0))
alcr=block(0x0103, struct.pack('>HHIHHHHHH',1,0x8892,0,1,3,1,200,0xC000,0xA000))
expsub=block(0x0104, struct.pack('>HIHIHHHIH',1,0,0,0x30,0,1,1,1,0)+struct.pack('>HHBB',1,0,1,1))
iocr_in_res=block(0x8102, struct.pack('>HHH',1,1,0x8001))
iocr_out_res=block(0x8102, struct.pack('>HHH',2,2,0x8000))
alcr_res=block(0x8103, struct.pack('>HHH',1,2,200))
moddiff=block(0x8104, struct.pack('>HIHHIHHHIH',1,0,1,0,0x30,2,1,1,1,0x0001))
readreq=block(0x0009, struct.pack('>H',1)+ARUUID+struct.pack('>IHHHHI',0,0,1,0,0xAFF0,0x40)+ARUUID+b'\x00'*8)
im0=block(0x0020, struct.pack('>H',0x002a)+b'6ES7 315-2EH14-0AB0 '+b'S C-X4U421302009'+struct.pack('>H',3)+b'V\x03\x02\x11'+struct.pack('>HHHHH',0,0,3,0x0101,0x001e))
readres=block(0x8009, struct.pack('>H',1)+ARUUID+struct.pack('>IHHHHIHH',0,0,1,0,0xAFF0,len(im0),0,0)+b'\x00'*20)+im0
wdata=bytes.fromhex('01020304')
writereq=block(0x0008, struct.pack('>H',2)+ARUUID+struct.pack('>IHHHHI',0,1,1,0,0x0001,len(wdata))+b'\x00'*24)+wdata
writeres=block(0x8008, struct.pack('>H',2)+ARUUID+struct.pack('>IHHHHIHH',0,1,1,0,0x0001,len(wdata),0,0)+bytes.fromhex('df80b000')+b'\x00'*16)
ctrl=block(0x0110, b'\x00\x00'+ARUUID+struct.pack('>HHHH',1,0,1,0))
ctrlres=block(0x8110, b'\x00\x00'+ARUUID+struct.pack('>HHHH',1,0,0x0008,0))
fx={}
fx['connectReq']=hdr(0, ndr_req(arreq+iocr_in+iocr_out+alcr+expsub), 0, 0)
fx['connectResp']=hdr(2, ndr_resp(b'\0\0\0\0', arres+iocr_in_res+iocr_out_res+alcr_res+moddiff), 0, 0, flags1=0x0a)
fx['readIM0Req']=hdr(0, ndr_req(readreq), 1, 2)
fx['readIM0Resp']=hdr(2, ndr_resp(b'\0\0\0\0', readres), 1, 2, flags1=0x0a)
fx['writeReqBE']=hdr(0, ndr_req(writereq, False), 2, 3, le=False)
fx['writeRespErrBE']=hdr(2, ndr_resp(bytes.fromhex('df80b000'), writeres, False), 2, 3, le=False, flags1=0x0a)
fx['controlPrmEndReq']=hdr(0, ndr_req(ctrl), 3, 4)
fx['controlPrmEndResp']=hdr(2, ndr_resp(b'\0\0\0\0', ctrlres), 3, 4, flags1=0x0a)
fx['faultUnknownIf']=hdr(3, struct.pack('<I',0x1c010003), 4, 2, flags1=0x0a)
fx['epmLookupReq']=hdr(0, b'\x00'*76, 5, 2, iface=EPM)
import sys
out=open(sys.argv[1] if len(sys.argv) > 1 else 'pnio-cm-synthetic.pcap','wb')
out.write(struct.pack('<IHHiIII',0xa1b2c3d4,2,4,0,0,65535,1))
for i,(k,v) in enumerate(fx.items()):
    resp = k.endswith('Resp') or k.endswith('BE') and 'Resp' in k or k.startswith('fault')
    sport,dport=(34964,49152) if resp else (49152,34964)
    udp=struct.pack('>HHHH',sport,dport,8+len(v),0)+v
    src,dst=(bytes([10,0,0,2]),bytes([10,0,0,1])) if resp else (bytes([10,0,0,1]),bytes([10,0,0,2]))
    ip=struct.pack('>BBHHHBBH',0x45,0,20+len(udp),i,0,64,17,0)+src+dst
    eth=bytes.fromhex('000e8c010203001b1b1234560800') if not resp else bytes.fromhex('001b1b123456000e8c0102030800')
    fr=eth+ip+udp
    out.write(struct.pack('<IIII',i,0,len(fr),len(fr))+fr)
    print('\t%s = "%s"' % (k, v.hex()))
