"""What the bot says, in English, Spanish and Chinese.

Templates use str.format fields; money and lists are rendered by the helpers
below so a read-back sounds natural when spoken by a TTS voice.
"""

from __future__ import annotations

from datetime import date

PROMPTS: dict[str, dict[str, str]] = {
    "anything_else": {
        "en": "Got it. Anything else?",
        "es": "Perfecto. ¿Algo más?",
        "zh": "好的。还需要别的吗？",
    },
    "no_charge_yet": {
        "en": "There's no charge until we give you a quote.",
        "es": "No hay cargo hasta que le demos un presupuesto.",
        "zh": "报价之前不收费。",
    },
    "ask_name_booking": {
        "en": "May I have your name, please?",
        "es": "¿Me da su nombre, por favor?",
        "zh": "请问您贵姓？",
    },
    "out_of_range": {
        "en": "Sorry, I can only take {low} to {high} {slot}.",
        "es": "Lo siento, solo puedo tomar de {low} a {high} {slot}.",
        "zh": "抱歉，{slot}只能是{low}到{high}。",
    },
    "out_of": {
        "en": "Sorry, we're out of {names} today.",
        "es": "Lo siento, hoy no tenemos {names}.",
        "zh": "抱歉，今天{names}没有了。",
    },
    "still_want": {
        "en": "Would you still like {item}?",
        "es": "¿Aún quiere {item}?",
        "zh": "还要{item}吗？",
    },
    "which_one": {
        "en": "Which one would you like: {options}?",
        "es": "¿Cuál le gustaría: {options}?",
        "zh": "您要哪一种：{options}？",
    },
    "noted": {
        "en": "Okay, changed.",
        "es": "Listo, cambiado.",
        "zh": "好的，已修改。",
    },
    "staff_cannot": {
        "en": "{staff} doesn't do {service}, but {options} can. Who would you like?",
        "es": "{staff} no hace {service}, pero {options} sí. ¿Con quién le gustaría?",
        "zh": "{staff}不做{service}，{options}可以。您想找谁？",
    },
    "what_else": {
        "en": "Sure, what else would you like?",
        "es": "Claro, ¿qué más le gustaría?",
        "zh": "好的，您还想要什么？",
    },
    "ask_size": {
        "en": "What size would you like the {item}: {options}?",
        "es": "¿De qué tamaño quiere {item}: {options}?",
        "zh": "{item}要什么尺寸：{options}？",
    },
    "ask_count": {
        "en": "How many {item} would you like?",
        "es": "¿Cuántas unidades de {item} quiere?",
        "zh": "{item}要几份？",
    },
    # An item sold by the pack, counted in pieces that make no whole number of packs.
    "ask_orders": {
        "en": "{item}: {size} to an order. How many orders would you like?",
        "es": "{item}: vienen {size} por orden. ¿Cuántas órdenes quiere?",
        "zh": "{item}一份{size}个，您要几份？",
    },
    "ask_packs": {
        "en": "{item}: {size} to a pack. How many packs would you like?",
        "es": "{item}: vienen {size} por paquete. ¿Cuántos paquetes quiere?",
        "zh": "{item}一包{size}个，您要几包？",
    },
    "ask_option": {
        "en": "Which {group} would you like on the {item}: {options}?",
        "es": "¿Qué {group} quiere para {item}: {options}?",
        "zh": "{item}要哪种{group}：{options}？",
    },
    "anything_else_short": {
        "en": "Anything else?",
        "es": "¿Algo más?",
        "zh": "还需要别的吗？",
    },
    "added": {
        "en": "Got it, {items}. Anything else?",
        "es": "Perfecto, {items}. ¿Algo más?",
        "zh": "好的，{items}。还需要别的吗？",
    },
    "what_order": {
        "en": "What would you like to order?",
        "es": "¿Qué le gustaría pedir?",
        "zh": "请问您想点什么？",
    },
    "what_service": {
        "en": "Which service would you like? We offer {options}.",
        "es": "¿Qué servicio desea? Ofrecemos {options}.",
        "zh": "您想要哪项服务？我们有{options}。",
    },
    "not_understood": {
        "en": "Sorry, I didn't catch that. {again}",
        "es": "Perdón, no le entendí. {again}",
        "zh": "抱歉，我没听清楚。{again}",
    },
    "unavailable": {
        "en": "Sorry, {name} is not available today. {alternative}",
        "es": "Lo siento, {name} no está disponible hoy. {alternative}",
        "zh": "抱歉，{name}今天没有了。{alternative}",
    },
    "alternative": {
        "en": " Would you like {name} instead?",
        "es": " ¿Le gustaría {name} en su lugar?",
        "zh": "要换成{name}吗？",
    },
    "confirm_guess": {
        "en": "Did you say {item}?",
        "es": "¿Dijo {item}?",
        "zh": "您是说{item}吗？",
    },
    "removed": {
        "en": "Okay, I took off {items}. {next}",
        "es": "Listo, quité {items}. {next}",
        "zh": "好的，已去掉{items}。{next}",
    },
    "changed": {
        "en": "Okay, {line}. {next}",
        "es": "Listo, {line}. {next}",
        "zh": "好的，{line}。{next}",
    },
    "nothing_to_remove": {
        "en": "I don't see that on your order. {next}",
        "es": "No veo eso en su pedido. {next}",
        "zh": "您的订单里没有这个。{next}",
    },
    "so_far": {
        "en": "So far you have {items}, {total}. {next}",
        "es": "Hasta ahora tiene {items}, {total}. {next}",
        "zh": "目前您点了{items}，{total}。{next}",
    },
    "so_far_empty": {
        "en": "Nothing yet. {next}",
        "es": "Todavía nada. {next}",
        "zh": "还没有点。{next}",
    },
    "price": {
        "en": "{item} is {price}. {next}",
        "es": "{item} cuesta {price}. {next}",
        "zh": "{item}是{price}。{next}",
    },
    "contents": {
        "en": "{item} comes with {contents}. {next}",
        "es": "{item} lleva {contents}. {next}",
        "zh": "{item}包括{contents}。{next}",
    },
    "options": {
        "en": "{item} comes in {options}. {next}",
        "es": "{item} viene en {options}. {next}",
        "zh": "{item}有{options}。{next}",
    },
    "menu": {
        "en": "We have {options}. {next}",
        "es": "Tenemos {options}. {next}",
        "zh": "我们有{options}。{next}",
    },
    "hours": {
        "en": "We're open {hours}. {next}",
        "es": "Abrimos {hours}. {next}",
        "zh": "我们的营业时间是{hours}。{next}",
    },
    "service_area": {
        "en": "We serve {area}. {next}",
        "es": "Atendemos {area}. {next}",
        "zh": "我们的服务范围是{area}。{next}",
    },
    "delivery_area": {
        "en": "We deliver to {area}. {next}",
        "es": "Entregamos en {area}. {next}",
        "zh": "我们配送到{area}。{next}",
    },
    "outside_area_order": {
        "en": "Sorry, we don't deliver to {place}. We deliver to {area}. Would you like pickup instead, or another address?",
        "es": "Lo siento, no entregamos en {place}. Entregamos en {area}. ¿Prefiere recogerlo, u otra dirección?",
        "zh": "抱歉，我们不配送到{place}。我们配送到{area}。您要改成自取，还是换一个地址？",
    },
    "outside_area_only": {
        "en": "Sorry, we don't deliver to {place}. We deliver to {area}. What address should we deliver to?",
        "es": "Lo siento, no entregamos en {place}. Entregamos en {area}. ¿A qué dirección lo entregamos?",
        "zh": "抱歉，我们不配送到{place}。我们配送到{area}。请问送到哪个地址？",
    },
    "outside_area_visit": {
        "en": "Sorry, {place} is outside our service area. We serve {area}. What address should we come to?",
        "es": "Lo siento, {place} está fuera de nuestra zona. Atendemos {area}. ¿A qué dirección vamos?",
        "zh": "抱歉，{place}不在我们的服务范围内。我们的服务范围是{area}。请问上门地址是哪里？",
    },
    "closed_day": {
        "en": "Sorry, we're closed on {day}. We're open {hours}. What day works for you?",
        "es": "Lo siento, el {day} está cerrado. Abrimos {hours}. ¿Qué día le conviene?",
        "zh": "抱歉，{day}我们不营业。营业时间是{hours}。您哪天方便？",
    },
    "over_capacity": {
        "en": "Sorry, the {item} holds up to {capacity} guests, not {guests}.",
        "es": "Lo siento, la {item} es para un máximo de {capacity} huéspedes, no {guests}.",
        "zh": "抱歉，{item}最多住{capacity}位，住不下{guests}位。",
    },
    "fits_instead": {
        "en": "For {guests} we have the {options}. Which would you like?",
        "es": "Para {guests} tenemos {options}. ¿Cuál prefiere?",
        "zh": "{guests}位可以选{options}。您要哪一种？",
    },
    "no_delivery": {
        "en": "Sorry, we only do {types}. {next}",
        "es": "Lo siento, solo hacemos {types}. {next}",
        "zh": "抱歉，我们只提供{types}。{next}",
    },
    "ask_fulfillment": {
        "en": "Is that for pickup or delivery?",
        "es": "¿Es para recoger o a domicilio?",
        "zh": "请问是自取还是外送？",
    },
    "ask_fulfillment_dine": {
        "en": "Is that for pickup, delivery or dine in?",
        "es": "¿Es para recoger, a domicilio o para comer aquí?",
        "zh": "请问是自取、外送还是堂食？",
    },
    "ask_address": {
        "en": "What's the delivery address?",
        "es": "¿Cuál es la dirección de entrega?",
        "zh": "请问送餐地址是哪里？",
    },
    "ask_time": {
        "en": "What time would you like it? The earliest is {earliest}.",
        "es": "¿A qué hora lo quiere? Lo más pronto es {earliest}.",
        "zh": "您想几点要？最早{earliest}。",
    },
    "ask_name": {
        "en": "Can I get a name for the order?",
        "es": "¿A nombre de quién?",
        "zh": "请问您贵姓？",
    },
    "ask_phone_callerid": {
        "en": "Is {number} the best number to reach you?",
        "es": "¿El {number} es el mejor número para contactarle?",
        "zh": "{number}这个号码可以联系到您吗？",
    },
    "ask_phone": {
        "en": "What's the best phone number to reach you?",
        "es": "¿Cuál es el mejor número para contactarle?",
        "zh": "请问您的联系电话是多少？",
    },
    "ask_datetime": {
        "en": "What day and time would you like?",
        "es": "¿Qué día y a qué hora le gustaría?",
        "zh": "您想约哪天几点？",
    },
    "ask_time_on": {
        "en": "What time {day}?",
        "es": "¿A qué hora {day}?",
        "zh": "{day}几点？",
    },
    "ask_date": {
        "en": "What date would you like?",
        "es": "¿Para qué fecha?",
        "zh": "您想要哪天？",
    },
    "ask_staff": {
        "en": "Do you have a preference for {options}, or anyone available?",
        "es": "¿Prefiere a {options}, o a quien esté disponible?",
        "zh": "您想指定{options}，还是谁都可以？",
    },
    "ask_generic": {
        "en": "What's the {slot}?",
        "es": "¿Cuál es el {slot}?",
        "zh": "请问{slot}是什么？",
    },
    "ask_choice": {
        "en": "Which {slot}: {options}?",
        "es": "¿Qué {slot}: {options}?",
        "zh": "请问{slot}：{options}？",
    },
    "bad_time_closed": {
        "en": "Sorry, we're not open {time}. We're open {hours}. What time works for you?",
        "es": "Lo siento, no abrimos {time}. Abrimos {hours}. ¿A qué hora le queda bien?",
        "zh": "抱歉，{time}我们不营业。营业时间是{hours}。您想几点？",
    },
    "bad_time_soon": {
        "en": "The earliest we can do is {earliest}. What time works for you?",
        "es": "Lo más pronto que podemos es {earliest}. ¿A qué hora le queda bien?",
        "zh": "最早只能{earliest}。您想几点？",
    },
    "readback": {
        "en": "Let me read that back: {items}. {details}Your total is {total}. Shall I place the order?",
        "es": "Le confirmo: {items}. {details}El total es {total}. ¿Hago el pedido?",
        "zh": "跟您确认一下：{items}。{details}总共{total}。要下单吗？",
    },
    "readback_booking": {
        "en": "Let me confirm: {details}{total_part}Shall I book it?",
        "es": "Le confirmo: {details}{total_part}¿Lo reservo?",
        "zh": "跟您确认一下：{details}{total_part}要预订吗？",
    },
    "total_part": {
        "en": "The total is {total}. ",
        "es": "El total es {total}. ",
        "zh": "总共{total}。",
    },
    "deposit_part": {
        "en": "A deposit of {deposit} is due. ",
        "es": "Se requiere un depósito de {deposit}. ",
        "zh": "需要支付{deposit}的定金。",
    },
    "got_it": {
        "en": "Got it, {what}.",
        "es": "Anotado: {what}.",
        "zh": "好的，{what}。",
    },
    "also_got": {
        "en": "For {what}.",
        "es": "{What}.",
        "zh": "{what}。",
    },
    "thanks_name": {
        "en": "Thanks, {name}.",
        "es": "Gracias, {name}.",
        "zh": "谢谢，{name}。",
    },
    "sorry_again": {
        "en": "Sorry about that. {again}",
        "es": "Perdón. {again}",
        "zh": "抱歉。{again}",
    },
    "what_change": {
        "en": "No problem. What would you like to change?",
        "es": "Claro. ¿Qué le gustaría cambiar?",
        "zh": "没问题。您想改什么？",
    },
    "committed": {
        "en": "Your order is in{ref}. {when}Thank you for calling {business}!",
        "es": "Su pedido está hecho{ref}. {when}¡Gracias por llamar a {business}!",
        "zh": "您的订单已下好{ref}。{when}感谢致电{business}！",
    },
    "committed_booking": {
        "en": "You're booked{ref}. Thank you for calling {business}!",
        "es": "Su reserva está confirmada{ref}. ¡Gracias por llamar a {business}!",
        "zh": "已为您预订好{ref}。感谢致电{business}！",
    },
    "commit_failed": {
        "en": "Sorry, I couldn't place that just now. Let me get someone to help you.",
        "es": "Lo siento, no pude hacer el pedido. Le comunico con alguien.",
        "zh": "抱歉，暂时无法下单。我帮您转接工作人员。",
    },
    "transfer": {
        "en": "Sure, connecting you to someone now.",
        "es": "Claro, le comunico con alguien ahora.",
        "zh": "好的，马上为您转接工作人员。",
    },
    "transfer_escalate": {
        "en": "Let me connect you with someone who can help.",
        "es": "Le comunico con alguien que le pueda ayudar.",
        "zh": "我帮您转接能帮助您的工作人员。",
    },
    "transfer_urgent": {
        "en": "That sounds urgent. If this is an emergency, hang up and call 911. Connecting you to our staff now.",
        "es": "Eso suena urgente. Si es una emergencia, cuelgue y llame al 911. Le comunico con nuestro personal.",
        "zh": "听起来很紧急。如果是紧急情况，请挂断并拨打急救电话。正在为您转接工作人员。",
    },
    "confirm_caller": {
        "en": "Thanks for calling. To go on, please press 1 on your phone's keypad.",
        "es": "Gracias por llamar. Para continuar, marque 1 en el teclado de su teléfono.",
        "zh": "感谢来电。请按电话键盘上的1继续。",
    },
    "refuse": {
        "en": "Sorry, we can't take this call. Goodbye.",
        "es": "Lo siento, no podemos atender esta llamada. Adiós.",
        "zh": "抱歉，我们无法处理此来电。再见。",
    },
    "refuse_quantity": {
        "en": "Sorry, we can't take an order that size over the phone. Goodbye.",
        "es": "Lo siento, no podemos tomar un pedido de ese tamaño por teléfono. Adiós.",
        "zh": "抱歉，这么大的订单无法通过电话下单。再见。",
    },
    "closed_future": {
        "en": "We're closed right now, but I can take an order for later.",
        "es": "Ahora estamos cerrados, pero puedo tomar un pedido para más tarde.",
        "zh": "我们现在已打烊，但可以为您预订稍后的订单。",
    },
    "closed_refuse": {
        "en": "Sorry, we're closed right now. We're open {hours}. Goodbye.",
        "es": "Lo siento, ahora estamos cerrados. Abrimos {hours}. Adiós.",
        "zh": "抱歉，我们现在已打烊。营业时间是{hours}。再见。",
    },
    "silence": {
        "en": "Are you still there? {again}",
        "es": "¿Sigue ahí? {again}",
        "zh": "您还在吗？{again}",
    },
    "goodbye": {
        "en": "Goodbye.",
        "es": "Adiós.",
        "zh": "再见。",
    },
    "upsell_added": {
        "en": "Added. {next}",
        "es": "Agregado. {next}",
        "zh": "已加上。{next}",
    },
    "no_slot_free": {
        "en": "Sorry, that time isn't available. {again}",
        "es": "Lo siento, ese horario no está disponible. {again}",
        "zh": "抱歉，这个时间不可约。{again}",
    },
}

CONJUNCTIONS = {"and": {"en": "and", "es": "y", "zh": "和"}, "or": {"en": "or", "es": "o", "zh": "还是"}}
FULFILLMENT_WORDS = {
    "pickup": {"en": "pickup", "es": "para recoger", "zh": "自取"},
    "delivery": {"en": "delivery", "es": "a domicilio", "zh": "外送"},
    "dine_in": {"en": "dine in", "es": "para comer aquí", "zh": "堂食"},
}
MONTH_NAMES = {
    "en": ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December"],
    "es": ["enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre",
           "noviembre", "diciembre"],
}
DAY_NAMES = {
    "en": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"],
    "es": ["lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo"],
    "zh": ["周一", "周二", "周三", "周四", "周五", "周六", "周日"],
}


def say(key: str, language: str, **fields: object) -> str:
    table = PROMPTS[key]
    template = table.get(language) or table["en"]
    text = " ".join(template.format(**fields).split())
    return text[:1].upper() + text[1:]


def join_list(parts: list[str], language: str, conjunction: str = "and") -> str:
    if len(parts) <= 1:
        return "".join(parts)
    word = CONJUNCTIONS[conjunction].get(language, conjunction)
    if language == "zh":
        return "、".join(parts[:-1]) + word + parts[-1]
    return ", ".join(parts[:-1]) + f" {word} " + parts[-1]


def money(minor: int, currency: str, language: str) -> str:
    """'$31.98' reads well in every espeak-ng voice; Chinese gets 元 wording."""
    whole, cents = divmod(abs(minor), 100)
    if language == "zh":
        unit = {"USD": "美元", "CAD": "加元", "AUD": "澳元", "EUR": "欧元", "GBP": "英镑", "MXN": "比索"}.get(currency, "元")
        return f"{whole}.{cents:02d}{unit}" if cents else f"{whole}{unit}"
    symbol = {"USD": "$", "CAD": "$", "AUD": "$", "MXN": "$", "EUR": "€", "GBP": "£"}.get(currency, "")
    if symbol:
        return f"{symbol}{whole}.{cents:02d}"
    return f"{whole}.{cents:02d} {currency}"


def clock(hour: int, minute: int, language: str) -> str:
    if language == "zh":
        return f"{hour}点{minute:02d}分" if minute else f"{hour}点"
    if language == "es":
        return f"{hour}:{minute:02d}"
    suffix = "am" if hour < 12 else "pm"
    h12 = hour % 12 or 12
    return f"{h12}:{minute:02d} {suffix}" if minute else f"{h12} {suffix}"


def spoken_date(day: date, language: str) -> str:
    """'Saturday December 12', 'sábado 12 de diciembre', '12月12日周六'."""
    weekday = DAY_NAMES[language][day.weekday()]
    if language == "zh":
        return f"{day.month}月{day.day}日{weekday}"
    if language == "es":
        return f"{weekday} {day.day} de {MONTH_NAMES['es'][day.month - 1]}"
    return f"{weekday} {MONTH_NAMES['en'][day.month - 1]} {day.day}"
