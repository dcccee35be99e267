"""The readings (フリガナ) of the planned names, so hub staff can find people by kana in the console."""

from __future__ import annotations

NAME_KANA = {
    "駒ヶ根": "コマガネ", "赤穂": "アカホ", "宮田": "ミヤダ", "中沢": "ナカザワ", "下平": "シモダイラ", "北原": "キタハラ", "小原": "オハラ",
    "竹村": "タケムラ", "気賀沢": "ケガサワ", "池上": "イケガミ", "唐沢": "カラサワ", "福澤": "フクザワ", "宮下": "ミヤシタ", "林": "ハヤシ",
    "堀": "ホリ", "田中": "タナカ", "伊藤": "イトウ", "小林": "コバヤシ",
    "花子": "ハナコ", "一郎": "イチロウ", "さくら": "サクラ", "健太": "ケンタ", "由美": "ユミ", "正": "タダシ", "大輔": "ダイスケ",
    "美穂": "ミホ", "翔": "ショウ", "陽菜": "ヒナ", "清": "キヨシ", "和子": "カズコ", "悠人": "ユウト", "結衣": "ユイ", "勝": "マサル", "千代": "チヨ",
    "Ana": "アナ", "Pereira": "ペレイラ", "Lucas": "ルーカス", "Oliveira": "オリヴェイラ", "Mariana": "マリアナ", "Souza": "ソウザ",
    "Rafael": "ハファエル", "Lima": "リマ", "Nguyen": "グエン", "Van": "ヴァン", "Minh": "ミン", "Tran": "チャン", "Thi": "ティ", "Lan": "ラン",
    "Le": "レ", "Hung": "フン", "Maria": "マリア", "Santos": "サントス", "Jose": "ホセ", "Reyes": "レイエス", "Liza": "リサ", "Cruz": "クルス",
    "Li": "リー", "Wei": "ウェイ", "Wang": "ワン", "Fang": "ファン", "Zhang": "チャン", "Min": "ミン", "Sita": "シタ", "Gurung": "グルン",
    "Ram": "ラム", "Thapa": "タパ", "John": "ジョン", "Miller": "ミラー", "Emma": "エマ", "Brown": "ブラウン",
}  # fmt: skip


def kana_of(display_name: str) -> str | None:
    """The reading of a planned name, word by word (None for a name the table does not know)."""
    words = [NAME_KANA.get(word) for word in display_name.split()]
    return " ".join(w for w in words if w) if all(words) else None
