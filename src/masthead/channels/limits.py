"""Channel rules and exact body-length counting, each channel in its own unit.

- X counts twitter-text v3's *weighted length*: most scripts weigh 1, CJK and emoji weigh 2,
  and every URL weighs 23 because X rewrites it to a t.co link.
- Bluesky counts extended grapheme clusters (what a reader sees as one character).
- Mastodon counts code points, but every http(s) URL counts 23 and a remote mention
  `@user@domain` counts only `@user` (what Mastodon's composer counts).
- LinkedIn, newsletters, email and blogs count code points.

URL detection follows twitter-text's extractor (also used for Mastodon and for grounding checks)
so that "is this a link?" has one answer everywhere in Masthead.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any, NamedTuple

import regex

from masthead.errors import NotFoundError

# The `regex` package ships no type hints; these aliases say what a value is.
_Pattern = Any
_Match = Any

CHANNELS: tuple[str, ...] = ("x", "bluesky", "mastodon", "linkedin", "newsletter", "email", "blog")

SUBJECT_LIMIT = 60
TRANSFORMED_URL_LENGTH = 23  # X and Mastodon both count any link as this many characters


@dataclass(frozen=True)
class ChannelRule:
    """What a channel accepts."""

    name: str
    limit: int | None  # max length of the body, None = unlimited
    unit: str  # "weighted" (X), "graphemes" (Bluesky), "chars" (others)
    has_subject: bool  # newsletter and email have a subject line
    subject_limit: int | None  # SUBJECT_LIMIT for newsletter/email


_RULES: dict[str, ChannelRule] = {
    rule.name: rule
    for rule in (
        ChannelRule("x", 280, "weighted", has_subject=False, subject_limit=None),
        ChannelRule("bluesky", 300, "graphemes", has_subject=False, subject_limit=None),
        ChannelRule("mastodon", 500, "chars", has_subject=False, subject_limit=None),
        ChannelRule("linkedin", 3000, "chars", has_subject=False, subject_limit=None),
        ChannelRule("newsletter", None, "chars", has_subject=True, subject_limit=SUBJECT_LIMIT),
        ChannelRule("email", None, "chars", has_subject=True, subject_limit=SUBJECT_LIMIT),
        ChannelRule("blog", None, "chars", has_subject=False, subject_limit=None),
    )
}


def rule_for(channel: str) -> ChannelRule:
    """The rule for `channel` (case and surrounding spaces do not matter)."""
    rule = _RULES.get(channel.strip().lower())
    if rule is None:
        valid = ", ".join(CHANNELS)
        raise NotFoundError(
            f"unknown channel {channel!r}; valid channels are {valid}",
            field="channel",
            fix=f"use one of: {valid}",
        )
    return rule


def body_length(channel: str, text: str) -> int:
    """Length of `text` in the channel's own unit (see the module docstring)."""
    rule = rule_for(channel)
    counter = _COUNTERS.get(rule.name, len)
    return counter(text)


def grapheme_length(text: str) -> int:
    """Extended grapheme clusters: a family emoji, a flag or "é" as e + accent each count 1."""
    return len(_GRAPHEME.findall(text))


_GRAPHEME = regex.compile(r"\X")


# -- X: twitter-text v3 weighted length ------------------------------------------------------
# config/v3.json: weights are in hundredths. Scripts whose glyphs are narrow weigh 100 (one
# character); everything else, notably CJK and emoji, weighs the default 200 (two characters).
_X_SCALE = 100
_X_DEFAULT_WEIGHT = 200
_X_LIGHT_WEIGHT = 100
_X_LIGHT_RANGES = (
    (0x0000, 0x10FF),  # Latin, Greek, Cyrillic, Hebrew, Arabic, Indic, Thai, Georgian...
    (0x2000, 0x200D),  # typographic spaces, zero-width space and joiners
    (0x2010, 0x201F),  # dashes and quotation marks
    (0x2032, 0x2037),  # primes
)


def x_weighted_length(text: str) -> int:
    """twitter-text v3 `parseTweet(text).weightedLength`.

    Walks the NFC-normalised text (X stores NFC, so "e" + combining accent is one character):
    a URL costs 23 whatever its length, a whole emoji sequence costs 2, any other code point
    costs its range weight.
    """
    normalised = unicodedata.normalize("NFC", text)
    url_end_by_start = {url.start: url.end for url in find_urls(normalised)}
    weight = 0
    index = 0
    while index < len(normalised):
        if index in url_end_by_start:
            weight += TRANSFORMED_URL_LENGTH * _X_SCALE
            index = url_end_by_start[index]
            continue
        emoji = _EMOJI.match(normalised, index)
        if emoji:
            weight += _X_DEFAULT_WEIGHT
            index = emoji.end()
            continue
        weight += _x_code_point_weight(normalised[index])
        index += 1
    return weight // _X_SCALE


def _x_code_point_weight(char: str) -> int:
    code = ord(char)
    if any(start <= code <= end for start, end in _X_LIGHT_RANGES):
        return _X_LIGHT_WEIGHT
    return _X_DEFAULT_WEIGHT


# Emoji, as twitter-text v3 sees them (it matches twemoji-parser's list; we use the Unicode
# emoji properties instead so newer emoji such as ❤️‍🔥 or 🧑‍🧑‍🧒 are recognised too).
# One element of a sequence:
_EMOJI_ELEMENT = (
    r"(?:"
    r"\p{Emoji_Modifier_Base}\p{Emoji_Modifier}"  # skin tone applied: 👍🏽
    r"|\p{Emoji_Presentation}(?!\ufe0e)\ufe0f?"  # emoji by default: 😷 (VS15 asks for text)
    r"|(?=\p{Emoji})\p{Extended_Pictographic}\ufe0f"  # text-default symbol with VS16: ❤️ ©️
    # Text-default symbols count as emoji even without VS16 (☺ ❤ ✈), except © ® ™, which
    # twemoji only treats as emoji with VS16 (plain © is an ordinary Latin-1 character).
    r"|(?![©®\u2122])(?=\p{Emoji})\p{Extended_Pictographic}(?!\ufe0e)"
    r")"
)
_EMOJI = regex.compile(
    r"[#*0-9]\ufe0f?\u20e3"  # keycap: 1️⃣
    r"|\p{Regional_Indicator}{2}"  # flag: 🇯🇵
    r"|\p{Extended_Pictographic}[\U000E0020-\U000E007E]+\U000E007F"  # tag sequence: 🏴󠁧󠁢󠁥󠁮󠁧󠁿
    rf"|{_EMOJI_ELEMENT}(?:\u200d{_EMOJI_ELEMENT})*"  # ZWJ sequence: 👨‍👩‍👧‍👦 (or one element)
)


# -- Mastodon --------------------------------------------------------------------------------
# Mastodon's composer (countableText) replaces each http(s) URL with 23 characters, then
# `@user@domain` with `@user`: the domain part of a remote mention is free.
_REMOTE_MENTION = regex.compile(r"(?<![/\w])@([a-z0-9_]+)@[a-z0-9.-]+[a-z0-9]+", regex.IGNORECASE)


def mastodon_length(text: str) -> int:
    """Mastodon's count: code points, every http(s) URL 23, remote mentions without the domain."""
    pieces: list[str] = []
    cursor = 0
    # Mastodon only shortens links it will render as links, and it needs the protocol for that.
    for url in find_urls(text, require_protocol=True):
        pieces.append(text[cursor : url.start])
        pieces.append("x" * TRANSFORMED_URL_LENGTH)
        cursor = url.end
    pieces.append(text[cursor:])
    countable = _REMOTE_MENTION.sub(r"@\1", "".join(pieces))
    return len(countable)


_COUNTERS: dict[str, Callable[[str], int]] = {
    "x": x_weighted_length,
    "bluesky": grapheme_length,
    "mastodon": mastodon_length,
}


# -- URL detection (twitter-text's extractUrlsWithIndices) -----------------------------------
class UrlMatch(NamedTuple):
    """A URL found in a text: `text[start:end] == url`."""

    start: int
    end: int
    url: str


_MAX_URL_LENGTH = 4096  # twitter-text: longer (punycode-encoded) URLs are not links
_MAX_TCO_SLUG_LENGTH = 40

# Character classes from twitter-text's regexp/ folder.
_PUNCTUATION = r"!'#%&()*+,\\\-./:;<=>?@\[\]\^_{|}~$"
_SPACES = r"\x09-\x0D\x20\x85\xA0\u1680\u180E\u2000-\u200A\u2028\u2029\u202F\u205F\u3000"
_INVALID = r"\uFFFE\uFEFF\uFFFF"
_DIRECTIONAL_MARKS = r"\u202A-\u202E\u061C\u200E\u200F\u2066-\u2069"
_CYRILLIC = r"\u0400-\u04FF"
_LATIN_ACCENTS = (
    r"\xC0-\xD6\xD8-\xF6\xF8-\xFF\u0100-\u024F\u0253\u0254\u0256\u0257\u0259\u025B\u0263"
    r"\u0268\u026F\u0272\u0289\u028B\u02BB\u0300-\u036F\u1E00-\u1EFF"
)
# A domain may use any script (IDNs), but no punctuation, spaces or direction marks.
_DOMAIN_CHAR = rf"[^{_PUNCTUATION}{_SPACES}{_INVALID}{_DIRECTIONAL_MARKS}]"
# Labels never start or end with a hyphen; only subdomains may contain "_". Atomic groups
# keep a 10,000-character "label" from backtracking quadratically.
_SUBDOMAIN = rf"(?>{_DOMAIN_CHAR}+(?:[_-]+{_DOMAIN_CHAR}+)*)\."
_DOMAIN_NAME = rf"(?>{_DOMAIN_CHAR}+(?:-+{_DOMAIN_CHAR}+)*)\."
_PUNYCODE_TLD = r"xn--[\-0-9a-z]+"
# Path characters: a path may not end in punctuation ("see example.com/a." keeps the dot out)
# and may contain parentheses only when balanced ("wiki/Foo_(bar)" but not "(example.com/a)").
_PATH_CHAR = rf"[a-z{_CYRILLIC}0-9!*';:=+,.$/%#\[\]\-\u2013_~@|&{_LATIN_ACCENTS}]"
_BALANCED_PARENS = rf"\((?:{_PATH_CHAR}+|{_PATH_CHAR}*\({_PATH_CHAR}+\){_PATH_CHAR}*)\)"
_PATH_END = rf"(?:[+\-a-z{_CYRILLIC}0-9=_#/{_LATIN_ACCENTS}]|{_BALANCED_PARENS})"
_PATH_SEGMENT = rf"(?:{_PATH_CHAR}*(?:{_BALANCED_PARENS}{_PATH_CHAR}*)*{_PATH_END}|@{_PATH_CHAR}+/)"
_QUERY = r"\?[a-z0-9!?*'@();:&=+$/%#\[\]\-_.,~|]*[a-z0-9\-_&=#/]"
# A URL may not be glued to a preceding letter, digit, @, $ or # ("user@example.com" is not one).
_URL_PRECEDING = r"(?<![A-Za-z0-9@＠$#＃\uFFFE\uFEFF\uFFFF])"
# twitter-text refuses a protocol-less URL right after "-", "_", "." or "/": "ftp://example.com"
# and "my_example.com" contain no link. Saying so in the pattern (rather than rejecting such
# matches afterwards) also spares it from retrying at every label of a long "a.b.c.d..." chain.
_BARE_URL_PRECEDING = r"(?:(?<![-_./])|(?=https?://))"


def find_urls(
    text: str, *, require_protocol: bool = False, include_short_domains: bool = False
) -> list[UrlMatch]:
    """URLs in `text`, found the way twitter-text finds them, in order.

    - `https://example.com/path?x=1` and `http://...` are URLs; trailing punctuation is not part.
    - Bare domains count when their TLD is a real one: `example.com`, `masthead.dev/docs`.
    - twitter-text skips a bare one-label domain on a country TLD without a path (`foo.jp`,
      `setup.py`, except `.co` and `.tv`); `include_short_domains=True` keeps those too.
    - A domain must survive IDNA encoding (labels of at most 63 characters).
    - `require_protocol=True` keeps only http(s) URLs (Mastodon's rule).
    """
    # twitter-text's own shortcut: no dot, no domain.
    if "." not in text:
        return []
    urls: list[UrlMatch] = []
    for match in _url_pattern().finditer(text):
        protocol, domain = match.group("protocol"), match.group("domain")
        if not _is_valid_url(match.group("url"), protocol, domain):
            continue
        if protocol:
            urls.extend(_protocol_url(match))
        elif not require_protocol:
            urls.extend(_bare_domain_urls(text, match, include_short_domains))
    return urls


def _is_valid_url(url: str, protocol: str | None, domain: str) -> bool:
    """twitter-text's isValidUrl: the domain must IDNA-encode, and the URL fit in 4096 chars."""
    try:
        punycode = domain.encode("idna").decode("ascii")
    except UnicodeError:  # e.g. a label longer than 63 characters once punycode-encoded
        return False
    if not punycode:
        return False
    encoded_length = len(url) + len(punycode) - len(domain)
    return len(protocol or "https://") + encoded_length <= _MAX_URL_LENGTH


def _protocol_url(match: _Match) -> list[UrlMatch]:
    start, url = match.start("url"), match.group("url")
    # t.co links are X's own: the slug ends the link ("https://t.co/abc-def" links "…/abc").
    tco = _tco_pattern().match(url)
    if tco:
        if len(tco.group("slug")) > _MAX_TCO_SLUG_LENGTH:
            return []
        url = tco.group(0)
    return [UrlMatch(start, start + len(url), url)]


def _bare_domain_urls(text: str, match: _Match, include_short_domains: bool) -> list[UrlMatch]:
    has_path = match.group("path") is not None
    domain, domain_start = match.group("domain"), match.start("domain")
    urls: list[UrlMatch] = []
    last: UrlMatch | None = None
    # Without a protocol only ASCII domains count: in "日本語example.com" the URL is "example.com".
    for ascii_domain in _ascii_domain_pattern().finditer(domain):
        last = UrlMatch(
            domain_start + ascii_domain.start(), domain_start + ascii_domain.end(), ascii_domain[0]
        )
        if has_path or include_short_domains or not _is_short_cctld_domain(last.url):
            urls.append(last)
    if last is not None and has_path:
        # The path (and query) belong to the last domain.
        end = match.end("url")
        urls[-1] = UrlMatch(last.start, end, text[last.start : end])
    return urls


def _is_short_cctld_domain(domain: str) -> bool:
    """`name.cc` with a country TLD: twitter-text does not link it without a path, except .co/.tv."""
    if _special_short_domain_pattern().match(domain):
        return False
    return _short_domain_pattern().match(domain) is not None


def _tld_alternation(names: str) -> str:
    # Longest first, and a TLD must end the domain: "example.community" is not "example.com".
    ordered = sorted(names.split(), key=len, reverse=True)
    return "(?:" + "|".join(regex.escape(name) for name in ordered) + ")(?=[^0-9a-zA-Z@+-]|$)"


@cache
def _tld() -> str:
    return (
        rf"(?:{_tld_alternation(_GENERIC_TLDS)}|{_tld_alternation(_COUNTRY_TLDS)}|{_PUNYCODE_TLD})"
    )


@cache
def _url_pattern() -> _Pattern:
    domain = rf"(?:{_SUBDOMAIN})*{_DOMAIN_NAME}{_tld()}"
    return regex.compile(
        _URL_PRECEDING + _BARE_URL_PRECEDING + r"(?P<url>"
        r"(?P<protocol>https?://)?"
        rf"(?P<domain>{domain})"
        r"(?::[0-9]+)?"  # port
        rf"(?P<path>/{_PATH_SEGMENT}*)?"
        rf"(?:{_QUERY})?"
        r")",
        regex.IGNORECASE,
    )


@cache
def _ascii_domain_pattern() -> _Pattern:
    return regex.compile(rf"(?:[\-a-z0-9{_LATIN_ACCENTS}]+\.)+{_tld()}", regex.IGNORECASE)


@cache
def _short_domain_pattern() -> _Pattern:
    return regex.compile(rf"{_DOMAIN_NAME}{_tld_alternation(_COUNTRY_TLDS)}$", regex.IGNORECASE)


@cache
def _special_short_domain_pattern() -> _Pattern:
    return regex.compile(rf"{_DOMAIN_NAME}(?:co|tv)(?=[^0-9a-zA-Z@]|$)$", regex.IGNORECASE)


@cache
def _tco_pattern() -> _Pattern:
    return regex.compile(
        r"https?://t\.co/(?P<slug>[a-z0-9]+)(?:\?[a-z0-9!?*'@();:&=+$/%#\[\]\-_.,~|]*[a-z0-9\-_&=#/])?",
        regex.IGNORECASE,
    )


# -- TLD lists -------------------------------------------------------------------------------
# From twitter-text's conformance/tld_lib.yml (IANA root zone), as twitter-text-parser 3.0.0
# ships them. A bare "name.tld" is a link on X only when tld is in one of these lists.
_COUNTRY_TLDS = """
ac ad ae af ag ai al am an ao aq ar as at au aw ax az ba bb bd be bf bg bh bi bj bl bm bn bo bq
br bs bt bv bw by bz ca cc cd cf cg ch ci ck cl cm cn co cr cu cv cw cx cy cz de dj dk dm do dz
ec ee eg eh er es et eu fi fj fk fm fo fr ga gb gd ge gf gg gh gi gl gm gn gp gq gr gs gt gu gw
gy hk hm hn hr ht hu id ie il im in io iq ir is it je jm jo jp ke kg kh ki km kn kp kr kw ky kz
la lb lc li lk lr ls lt lu lv ly ma mc md me mf mg mh mk ml mm mn mo mp mq mr ms mt mu mv mw mx
my mz na nc ne nf ng ni nl no np nr nu nz om pa pe pf pg ph pk pl pm pn pr ps pt pw py qa re ro
rs ru rw sa sb sc sd se sg sh si sj sk sl sm sn so sr ss st su sv sx sy sz tc td tf tg th tj tk
tl tm tn to tp tr tt tv tw tz ua ug uk um us uy uz va vc ve vg vi vn vu wf ws ye yt za zm zw ελ
ευ бг бел ею мкд мон рф срб укр қаз հայ الاردن البحرين الجزائر السعودية المغرب امارات ایران بارت
بھارت تونس سودان سورية عراق عمان فلسطين قطر مصر مليسيا موريتانيا پاکستان ڀارت भारत भारतम् भारोत
বাংলা ভারত ভাৰত ਭਾਰਤ ભારત ଭାରତ இந்தியா இலங்கை சிங்கப்பூர் భారత్ ಭಾರತ ഭാരതം ලංකා ไทย ລາວ გე 中国 中國
台湾 台灣 新加坡 澳門 香港 한국
"""
_GENERIC_TLDS = """
aaa aarp abarth abb abbott abbvie abc able abogado abudhabi academy accenture accountant
accountants aco active actor adac ads adult aeg aero aetna afamilycompany afl africa agakhan
agency aig aigo airbus airforce airtel akdn alfaromeo alibaba alipay allfinanz allstate ally
alsace alstom americanexpress americanfamily amex amfam amica amsterdam analytics android anquan
anz aol apartments app apple aquarelle arab aramco archi army arpa art arte asda asia associates
athleta attorney auction audi audible audio auspost author auto autos avianca aws axa azure baby
baidu banamex bananarepublic band bank bar barcelona barclaycard barclays barefoot bargains
baseball basketball bauhaus bayern bbc bbt bbva bcg bcn beats beauty beer bentley berlin best
bestbuy bet bharti bible bid bike bing bingo bio biz black blackfriday blanco blockbuster blog
bloomberg blue bms bmw bnl bnpparibas boats boehringer bofa bom bond boo book booking boots
bosch bostik boston bot boutique box bradesco bridgestone broadway broker brother brussels
budapest bugatti build builders business buy buzz bzh cab cafe cal call calvinklein cam camera
camp cancerresearch canon capetown capital capitalone car caravan cards care career careers cars
cartier casa case caseih cash casino cat catering catholic cba cbn cbre cbs ceb center ceo cern
cfa cfd chanel channel charity chase chat cheap chintai chloe christmas chrome chrysler church
cipriani circle cisco citadel citi citic city cityeats claims cleaning click clinic clinique
clothing cloud club clubmed coach codes coffee college cologne com comcast commbank community
company compare computer comsec condos construction consulting contact contractors cooking
cookingchannel cool coop corsica country coupon coupons courses cpa credit creditcard
creditunion cricket crown crs cruise cruises csc cuisinella cymru cyou dabur dad dance data date
dating datsun day dclk dds deal dealer deals degree delivery dell deloitte delta democrat dental
dentist desi design dev dhl diamonds diet digital direct directory discount discover dish diy
dnp docs doctor dodge dog doha domains doosan dot download drive dtv dubai duck dunlop duns
dupont durban dvag dvr earth eat eco edeka edu education email emerck energy engineer
engineering enterprises epost epson equipment ericsson erni esq estate esurance etisalat
eurovision eus events everbank exchange expert exposed express extraspace fage fail fairwinds
faith family fan fans farm farmers fashion fast fedex feedback ferrari ferrero fiat fidelity
fido film final finance financial fire firestone firmdale fish fishing fit fitness flickr
flights flir florist flowers flsmidth fly foo food foodnetwork football ford forex forsale forum
foundation fox free fresenius frl frogans frontdoor frontier ftr fujitsu fujixerox fun fund
furniture futbol fyi gal gallery gallo gallup game games gap garden gay gbiz gdn gea gent
genting george ggee gift gifts gives giving glade glass gle global globo gmail gmbh gmo gmx
godaddy gold goldpoint golf goo goodhands goodyear goog google gop got gov grainger graphics
gratis green gripe grocery group guardian gucci guge guide guitars guru hair hamburg hangout
haus hbo hdfc hdfcbank health healthcare help helsinki here hermes hgtv hiphop hisamitsu hitachi
hiv hkt hockey holdings holiday homedepot homegoods homes homesense honda honeywell horse
hospital host hosting hot hoteles hotels hotmail house how hsbc htc hughes hyatt hyundai ibm
icbc ice icu ieee ifm iinet ikano imamat imdb immo immobilien inc industries infiniti info ing
ink institute insurance insure int intel international intuit investments ipiranga irish iselect
ismaili ist istanbul itau itv iveco iwc jaguar java jcb jcp jeep jetzt jewelry jio jlc jll jmp
jnj jobs joburg jot joy jpmorgan jprs juegos juniper kaufen kddi kerryhotels kerrylogistics
kerryproperties kfh kia kim kinder kindle kitchen kiwi koeln komatsu kosher kpmg kpn krd kred
kuokgroup kyoto lacaixa ladbrokes lamborghini lamer lancaster lancia lancome land landrover
lanxess lasalle lat latino latrobe law lawyer lds lease leclerc lefrak legal lego lexus lgbt
liaison lidl life lifeinsurance lifestyle lighting like lilly limited limo lincoln linde link
lipsy live living lixil llc llp loan loans locker locus loft lol london lotte lotto love lpl
lplfinancial ltd ltda lundbeck lupin luxe luxury macys madrid maif maison makeup man management
mango map market marketing markets marriott marshalls maserati mattel mba mcd mcdonalds mckinsey
med media meet melbourne meme memorial men menu meo merckmsd metlife miami microsoft mil mini
mint mit mitsubishi mlb mls mma mobi mobile mobily moda moe moi mom monash money monster
montblanc mopar mormon mortgage moscow moto motorcycles mov movie movistar msd mtn mtpc mtr
museum mutual mutuelle nab nadex nagoya name nationwide natura navy nba nec net netbank netflix
network neustar new newholland news next nextdirect nexus nfl ngo nhk nico nike nikon ninja
nissan nissay nokia northwesternmutual norton now nowruz nowtv nra nrw ntt nyc obi observer off
office okinawa olayan olayangroup oldnavy ollo omega one ong onion onl online onyourside ooo
open oracle orange org organic orientexpress origins osaka otsuka ott ovh page pamperedchef
panasonic panerai paris pars partners parts party passagens pay pccw pet pfizer pharmacy phd
philips phone photo photography photos physio piaget pics pictet pictures pid pin ping pink
pioneer pizza place play playstation plumbing plus pnc pohl poker politie porn post pramerica
praxi press prime pro prod productions prof progressive promo properties property protection pru
prudential pub pwc qpon quebec quest qvc racing radio raid read realestate realtor realty
recipes red redstone redumbrella rehab reise reisen reit reliance ren rent rentals repair report
republican rest restaurant review reviews rexroth rich richardli ricoh rightathome ril rio rip
rmit rocher rocks rodeo rogers room rsvp rugby ruhr run rwe ryukyu saarland safe safety sakura
sale salon samsclub samsung sandvik sandvikcoromant sanofi sap sapo sarl sas save saxo sbi sbs
sca scb schaeffler schmidt scholarships school schule schwarz science scjohnson scor scot search
seat secure security seek select sener services ses seven sew sex sexy sfr shangrila sharp shaw
shell shia shiksha shoes shop shopping shouji show showtime shriram silk sina singles site ski
skin sky skype sling smart smile sncf soccer social softbank software sohu solar solutions song
sony soy space spiegel sport spot spreadbetting srl srt stada staples star starhub statebank
statefarm statoil stc stcgroup stockholm storage store stream studio study style sucks supplies
supply support surf surgery suzuki swatch swiftcover swiss sydney symantec systems tab taipei
talk taobao target tatamotors tatar tattoo tax taxi tci tdk team tech technology tel telecity
telefonica temasek tennis teva thd theater theatre tiaa tickets tienda tiffany tips tires tirol
tjmaxx tjx tkmaxx tmall today tokyo tools top toray toshiba total tours town toyota toys trade
trading training travel travelchannel travelers travelersinsurance trust trv tube tui tunes
tushu tvs ubank ubs uconnect unicom university uno uol ups vacations vana vanguard vegas
ventures verisign versicherung vet viajes video vig viking villas vin vip virgin visa vision
vista vistaprint viva vivo vlaanderen vodka volkswagen volvo vote voting voto voyage vuelos
wales walmart walter wang wanggou warman watch watches weather weatherchannel webcam weber
website wed wedding weibo weir whoswho wien wiki williamhill win windows wine winners wme
wolterskluwer woodside work works world wow wtc wtf xbox xerox xfinity xihuan xin xperia xxx xyz
yachts yahoo yamaxun yandex yodobashi yoga yokohama you youtube yun zappos zara zero zip zippo
zone zuerich vermögensberater vermögensberatung дети католик ком москва онлайн орг рус сайт קום
ابوظبي اتصالات ارامكو العليان بازار بيتك شبكة عرب كاثوليك كوم موبايلي موقع همراه कॉम नेट संगठन
คอม みんな クラウド グーグル コム ストア セール ファッション ポイント 世界 中信 中文网 企业 佛山 信息 健康 八卦 公司 公益 商城 商店 商标 嘉里 嘉里大酒店 在线
大众汽车 大拿 天主教 娱乐 家電 工行 广东 微博 慈善 我爱你 手机 手表 招聘 政务 政府 新闻 时尚 書籍 机构 淡马锡 游戏 点看 珠宝 移动 组织机构 网址 网店 网站 网络 联通
诺基亚 谷歌 购物 通販 集团 電訊盈科 飞利浦 食品 餐厅 香格里拉 닷넷 닷컴 삼성
"""
